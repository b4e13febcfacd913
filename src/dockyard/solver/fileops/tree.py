"""A read-only view of the files a COPY/ADD reads: the build context or a rootfs.

Two kinds, one interface:

- a *snapshot* (the build context): every entry was listed once by the context walk
  (``.dockerignore`` already applied); anything not listed does not exist, exactly as
  if BuildKit had transferred the context. Owners read as 0:0 (BuildKit's context
  transfer resets them).
- a *live* directory (another stage's or an image's root filesystem, a downloaded
  file, a heredoc): entries are ``lstat``-ed and listed on demand and cached.

Paths are relative and ``/``-separated, ``""`` is the root. :meth:`resolve` follows
symlinks inside the view as if its root were ``/``: nothing resolves outside it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator

from dockyard.errors import BuildError

MAX_SYMLINKS = 255


def clean_relative(path: str) -> str:
    """``path`` made relative to the root, ``..`` clamped at the root (like path.Join("/", p))."""
    parts: list[str] = []
    for part in path.split("/"):
        if not part or part == ".":
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


class SourceTree:
    """Files a copy reads; see the module docstring for the two kinds."""

    def __init__(self, root: str | os.PathLike[str], *, snapshot: bool, owners_zero: bool) -> None:
        self.root = os.path.abspath(root)
        self.snapshot = snapshot
        self.owners_zero = owners_zero
        self._stats: dict[str, os.stat_result | None] = {}
        self._children: dict[str, list[str]] = {}
        self._links: dict[str, str] = {}

    # -- construction ------------------------------------------------------------

    @classmethod
    def live(cls, root: str | os.PathLike[str], *, owners_zero: bool = False) -> SourceTree:
        """A view of a directory as it is on disk (a stage or image rootfs)."""
        return cls(root, snapshot=False, owners_zero=owners_zero)

    @classmethod
    def from_entries(
        cls, root: str | os.PathLike[str], entries: Iterable[tuple[str, os.stat_result]]
    ) -> SourceTree:
        """A snapshot from a walk: ``(relative path, lstat)`` pairs, parents before children.

        A listed entry whose parent directory was not listed (a ``.dockerignore``
        exception inside an ignored directory) gets its parents from the disk.
        """
        tree = cls(root, snapshot=True, owners_zero=True)
        tree._stats[""] = os.lstat(tree.root)
        tree._children[""] = []
        for rel, st in entries:
            tree._add(rel, st)
        for names in tree._children.values():
            names.sort()
        return tree

    @classmethod
    def scan(cls, root: str | os.PathLike[str]) -> SourceTree:
        """A snapshot of everything below ``root`` (no ignore rules), in one pass."""
        tree = cls(root, snapshot=True, owners_zero=True)
        stats = tree._stats
        children = tree._children
        stats[""] = os.lstat(tree.root)
        pending: list[tuple[str, str]] = [("", tree.root)]
        while pending:
            rel, path = pending.pop()
            names: list[str] = []
            try:
                listing = os.scandir(path)
            except OSError as error:
                raise BuildError(
                    f"cannot read the build context: {path}: {error.strerror}",
                    "make it readable or exclude it in .dockerignore",
                ) from error
            with listing:
                for entry in listing:
                    name = entry.name
                    names.append(name)
                    child = f"{rel}/{name}" if rel else name
                    st = entry.stat(follow_symlinks=False)
                    stats[child] = st
                    if stat.S_ISDIR(st.st_mode):
                        pending.append((child, entry.path))
            names.sort()
            children[rel] = names
        return tree

    def entries(self) -> Iterator[tuple[str, os.stat_result]]:
        """Every known (path, lstat) of a snapshot."""
        for rel, st in self._stats.items():
            if st is not None and rel:
                yield rel, st

    def _add(self, rel: str, st: os.stat_result) -> None:
        if rel in self._stats:
            return
        parent, _, name = rel.rpartition("/")
        if parent not in self._stats:
            self._add(parent, os.lstat(self.disk_path(parent)))
        self._stats[rel] = st
        self._children[parent].append(name)
        if stat.S_ISDIR(st.st_mode):
            self._children[rel] = []

    # -- queries -----------------------------------------------------------------

    def disk_path(self, rel: str) -> str:
        return f"{self.root}/{rel}" if rel else self.root

    def lstat(self, rel: str) -> os.stat_result | None:
        """The entry's lstat, or None when it does not exist in this view."""
        try:
            return self._stats[rel]
        except KeyError:
            pass
        if self.snapshot:
            return None
        try:
            st: os.stat_result | None = os.lstat(self.disk_path(rel))
        except (FileNotFoundError, NotADirectoryError):
            st = None
        except OSError as error:
            raise BuildError(f"cannot read {rel or '/'}: {error.strerror}") from error
        self._stats[rel] = st
        return st

    def children(self, rel: str) -> list[str]:
        """Sorted names in directory ``rel``."""
        try:
            return self._children[rel]
        except KeyError:
            pass
        if self.snapshot:
            return []
        names: list[str] = []
        try:
            with os.scandir(self.disk_path(rel)) as listing:
                for entry in listing:
                    names.append(entry.name)
                    child = join(rel, entry.name)
                    if child not in self._stats:
                        self._stats[child] = entry.stat(follow_symlinks=False)
        except OSError as error:
            raise BuildError(f"cannot list {rel or '/'}: {error.strerror}") from error
        names.sort()
        self._children[rel] = names
        return names

    def readlink(self, rel: str) -> str:
        try:
            return self._links[rel]
        except KeyError:
            target = os.readlink(self.disk_path(rel))
            self._links[rel] = target
            return target

    def owner(self, st: os.stat_result) -> tuple[int, int]:
        return (0, 0) if self.owners_zero else (st.st_uid, st.st_gid)

    def resolve(self, path: str, *, follow_final: bool = True) -> str:
        """``path`` with every symlink resolved inside the view (relative result).

        Missing components are joined as they are. ``..`` and absolute link targets
        never leave the root, like containerd's ``fs.RootPath``.
        """
        pending = [part for part in path.split("/") if part and part != "."]
        pending.reverse()
        resolved: list[str] = []
        links = 0
        while pending:
            part = pending.pop()
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            if not pending and not follow_final:
                resolved.append(part)
                break
            candidate = "/".join([*resolved, part])
            st = self.lstat(candidate)
            if st is None or not stat.S_ISLNK(st.st_mode):
                resolved.append(part)
                continue
            links += 1
            if links > MAX_SYMLINKS:
                raise BuildError(
                    f"too many levels of symbolic links resolving {path!r}",
                    "the source contains a symlink loop",
                )
            target = self.readlink(candidate)
            if target.startswith("/"):
                resolved.clear()
            parts = [p for p in target.split("/") if p and p != "."]
            parts.reverse()
            pending.extend(parts)
        return "/".join(resolved)

    def walk(self, rel: str) -> Iterator[tuple[str, os.stat_result]]:
        """``rel`` and everything below it, depth first, sorted, symlinks not followed."""
        st = self.lstat(rel)
        if st is None:
            return
        stack: list[tuple[str, os.stat_result]] = [(rel, st)]
        while stack:
            current, current_st = stack.pop()
            yield current, current_st
            if stat.S_ISDIR(current_st.st_mode):
                names = self.children(current)
                for name in reversed(names):
                    child = join(current, name)
                    child_st = self.lstat(child)
                    if child_st is not None:
                        stack.append((child, child_st))
