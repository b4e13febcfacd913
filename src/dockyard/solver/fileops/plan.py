"""COPY/ADD, step one: resolve what an instruction reads and hash it (the cache key).

``prepare_copy`` turns a :class:`CopySpec` (the instruction, already expanded) into a
:class:`CopyPlan`: the destination path, one :class:`CopyAction` per source (as
BuildKit's dockerfile frontend emits them: wildcards allowed and empty matches
tolerated, the named source's symlinks followed, directories copied by content,
local archives unpacked for ADD) and ``checksum``, the digest of exactly the files
those actions read plus every option that shapes the result. Nothing is written;
``apply_copy`` (copy.py) does that, only on a cache miss.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import BuildError
from dockyard.solver.fileops.contenthash import ContentHasher
from dockyard.solver.fileops.tree import SourceTree, clean_relative, join
from dockyard.solver.fileops.wildcard import (
    compile_pattern,
    contains_wildcards,
    match,
    pattern_depth,
    split_wildcards,
)

if TYPE_CHECKING:
    from dockyard.solver.fileops.chmod import ModeChange

Matcher = Callable[[str], bool]


@dataclass(frozen=True)
class InlineFile:
    """A heredoc used as a source (``COPY <<EOF /dest``): its name and bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class CopySpec:
    """One COPY/ADD instruction with every word already expanded.

    ``sources`` are paths inside the source tree (the context, or the ``--from``
    stage/image rootfs) or, for ADD, http(s) URLs; ``dest`` is as written (a
    trailing ``/`` means a directory) and relative to ``workdir`` unless absolute.
    """

    sources: tuple[str, ...]
    dest: str
    workdir: str = "/"
    contents: tuple[InlineFile, ...] = ()
    add: bool = False
    chown: str | None = None
    chmod: str | None = None
    excludes: tuple[str, ...] = ()
    parents: bool = False
    checksum: str | None = None
    unpack: bool | None = None


@dataclass(frozen=True)
class CopyAction:
    """One source of a plan: ``source`` (relative path in ``tree``) -> the plan's dest."""

    tree: SourceTree
    source: str
    follow_links: bool = True
    dir_contents: bool = True
    unpack: bool = False
    include: tuple[str, ...] = ()
    data: bytes | None = None  # inline (heredoc) content: ``source`` is its file name
    url: str | None = None


@dataclass(frozen=True)
class CopyPlan:
    spec: CopySpec
    dest_path: str  # absolute, a trailing "/" kept
    actions: tuple[CopyAction, ...]
    checksum: str  # "sha256:<hex>" over the inputs and options
    mode: ModeChange | None = field(default=None, compare=False)

    @property
    def exclude_patterns(self) -> tuple[str, ...]:
        return self.spec.excludes


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def destination_path(dest: str, workdir: str) -> str:
    """BuildKit's dest: joined to WORKDIR unless absolute; a trailing ``/`` (and ``.``) kept."""
    directory = dest.endswith("/") or dest in ("", ".") or dest.endswith("/.")
    base = dest if dest.startswith("/") else posixpath.join(workdir or "/", dest)
    cleaned = posixpath.normpath("/" + base.lstrip("/"))
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if directory and not cleaned.endswith("/"):
        cleaned += "/"
    return cleaned


def resolve_wildcards(tree: SourceTree, source: str, *, follow_links: bool) -> list[str]:
    """fsutil's ResolveWildcards: matches of ``source`` (relative paths, possibly none).

    Without a wildcard the (cleaned) path itself is returned, existing or not. The
    fixed prefix is resolved (links followed); below it, entries whose path relative
    to the prefix matches the pattern are returned, and matched directories are not
    searched further.
    """
    fixed, pattern = split_wildcards(clean_relative(source))
    if not pattern:
        return [clean_relative(fixed)]
    base = tree.resolve(fixed, follow_final=follow_links)
    base_st = tree.lstat(base)
    if base_st is None or not stat.S_ISDIR(base_st.st_mode):
        raise BuildError(
            f"{fixed or '/'}: not found (looking for {source!r})",
            "COPY sources are relative to the build context (or the --from stage)",
        )
    try:
        compile_pattern(pattern)
    except ValueError:
        return []
    depth = pattern_depth(pattern)
    matches: list[str] = []
    # Depth-first in sorted order, like filepath.Walk.
    stack: list[tuple[str, int]] = [(name, 1) for name in reversed(tree.children(base))]
    while stack:
        inner, level = stack.pop()
        path = join(base, inner)
        st = tree.lstat(path)
        if st is None:
            continue
        if match(pattern, inner):
            matches.append(path)
            continue
        if stat.S_ISDIR(st.st_mode) and (depth is None or level < depth):
            names = tree.children(path)
            stack.extend((f"{inner}/{name}", level + 1) for name in reversed(names))
    return matches


def pattern_matcher(patterns: Sequence[str]) -> Matcher | None:
    if not patterns:
        return None
    from dockyard.dockerfile.ignore import IgnoreRules

    rules = IgnoreRules.from_patterns(patterns)
    matches: Matcher = rules.matches
    return matches


def prepare_copy(
    spec: CopySpec,
    tree: SourceTree,
    *,
    hasher: ContentHasher | None = None,
    fetch_dir: Path | None = None,
) -> CopyPlan:
    """Resolve ``spec`` against ``tree`` and compute the plan's content checksum.

    ``hasher`` (from the build context, with its stat cache) is reused across
    instructions; ``fetch_dir`` is where ADD downloads URLs (required for URLs).
    Raises BuildError when a source is missing or an option is invalid.
    """
    if hasher is None or hasher.tree is not tree:
        hasher = ContentHasher(tree)
    mode = None
    if spec.chmod:
        from dockyard.solver.fileops.chmod import parse_chmod

        mode = parse_chmod(spec.chmod)
    _validate(spec)
    dest_path = destination_path(spec.dest, spec.workdir)
    actions: list[CopyAction] = []
    key: list[object] = [
        "dockyard-copy-v1",
        dest_path,
        spec.add,
        spec.chown,
        spec.chmod,
        list(spec.excludes),
        spec.parents,
        spec.unpack,
    ]
    exclude = pattern_matcher(spec.excludes)
    for source in spec.sources:
        if spec.add and is_url(source):
            from dockyard.solver.fileops.fetch import fetch_url

            if fetch_dir is None:
                raise BuildError("ADD of a URL needs a download directory")
            fetched = fetch_url(source, fetch_dir, checksum=spec.checksum)
            action = CopyAction(
                SourceTree.live(fetched.directory),
                fetched.filename,
                follow_links=False,
                dir_contents=False,
                unpack=bool(spec.unpack),
                url=source,
            )
            actions.append(action)
            key.append(["url", source, fetched.filename, fetched.digest, action.unpack])
            continue
        for action in _local_actions(spec, tree, source):
            actions.append(action)
            key.append(_action_key(action, hasher, exclude))
    for inline in spec.contents:
        name = inline.name
        actions.append(
            CopyAction(tree, name, follow_links=False, dir_contents=False, data=inline.data)
        )
        key.append(["inline", name, hashlib.sha256(inline.data).hexdigest()])
    text = json.dumps(key, separators=(",", ":"), default=str)
    checksum = "sha256:" + hashlib.sha256(text.encode(errors="surrogateescape")).hexdigest()
    return CopyPlan(spec, dest_path, tuple(actions), checksum, mode)


def _validate(spec: CopySpec) -> None:
    if spec.checksum is not None:
        if not spec.add:
            raise BuildError("checksum can't be specified for COPY")
        if len(spec.sources) != 1:
            raise BuildError("checksum can't be specified for multiple sources")
        if not is_url(spec.sources[0]):
            raise BuildError("checksum requires HTTP(S) or Git sources")
    if not spec.add:
        for source in spec.sources:
            if is_url(source):
                raise BuildError(
                    f"source can't be a URL for COPY: {source}", "use ADD to download a URL"
                )


def _local_actions(spec: CopySpec, tree: SourceTree, source: str) -> list[CopyAction]:
    unpack = spec.add if spec.unpack is None else spec.unpack
    include: tuple[str, ...] = ()
    required: str | None = None
    if spec.parents:
        parent, sep, pattern = source.partition("/./")
        if not sep:
            parent, pattern = "/", source
        pattern = clean_relative(pattern)
        include = (pattern,)
        if not contains_wildcards(parent) and not contains_wildcards(pattern):
            required = clean_relative(f"{parent}/{pattern}")
        source = parent
    actions = []
    for found in resolve_wildcards(tree, source, follow_links=True):
        resolved = tree.resolve(found)
        if tree.lstat(resolved) is None:
            raise _not_found(source, tree, through_link=resolved != found)
        actions.append(CopyAction(tree, found, unpack=unpack, include=include))
    if required is not None and tree.lstat(tree.resolve(required)) is None:
        raise _not_found(required, tree)
    return actions


def _not_found(source: str, tree: SourceTree, *, through_link: bool = False) -> BuildError:
    hint = "paths are relative to the build context; check the path and .dockerignore"
    if ".." in source.split("/"):
        hint = "'..' cannot leave the build context; " + hint
    elif through_link and tree.snapshot:
        hint = "symlinks are resolved inside the build context and cannot leave it; " + hint
    elif not tree.snapshot:
        hint = "paths are relative to the root of the --from stage or image"
    return BuildError(f'"/{clean_relative(source)}": not found', hint)


def _action_key(action: CopyAction, hasher: ContentHasher, exclude: Matcher | None) -> object:
    tree = action.tree
    resolved = tree.resolve(action.source, follow_final=action.follow_links)
    st = tree.lstat(resolved)
    if st is None:
        raise _not_found(action.source, tree)
    include = pattern_matcher(action.include)
    if include is not None or exclude is not None:
        digest = hasher.filtered_digest(resolved, include, exclude)
    else:
        digest = hasher.entry_digest(resolved)
    return ["local", action.source, resolved, digest.hex(), action.unpack, list(action.include)]
