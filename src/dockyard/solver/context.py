"""The build context: a directory (or a tar on stdin) as COPY/ADD and the cache see it.

The context is walked once per build, ``.dockerignore`` applied, into a snapshot
:class:`~dockyard.solver.fileops.tree.SourceTree` -- what BuildKit would have
transferred: ignored files do not exist for the build, owners read as 0:0. Its
:class:`~dockyard.solver.fileops.contenthash.ContentHasher` is backed by a persistent
stat cache in the store (``<store>/cache/statcache/``), so a rebuild reads only the
files whose (device, inode, size, mtime, ctime) changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

from dockyard.errors import BuildError
from dockyard.solver.fileops.contenthash import ContentHasher
from dockyard.solver.fileops.statcache import StatCache
from dockyard.solver.fileops.tree import SourceTree

STAT_CACHE_DIR = ("cache", "statcache")


def stat_cache_dir(store_root: Path) -> Path:
    return store_root.joinpath(*STAT_CACHE_DIR)


def open_context(
    context_dir: Path, dockerfile_path: Path | None = None, store_root: Path | None = None
) -> tuple[SourceTree, ContentHasher]:
    """Walk ``context_dir`` (ignore rules applied) into a snapshot and its hasher."""
    root = Path(context_dir)
    if not root.is_dir():
        raise BuildError(
            f"build context {str(context_dir)!r} is not a directory",
            "pass a directory (or '-' to read a tar context from stdin)",
        )
    tree = _scan(root, dockerfile_path)
    if store_root is not None:
        cache = StatCache.for_directory(stat_cache_dir(store_root), root)
    else:
        cache = StatCache()
    return tree, ContentHasher(tree, cache)


def context_checksum(tree: SourceTree, hasher: ContentHasher) -> str:
    """Digest of the whole filtered context (RUN --mount=type=bind of the context)."""
    digest = hasher.entry_digest("")
    hasher.save()
    return "sha256:" + digest.hex()


def _ignore_file(root: Path, dockerfile_path: Path | None) -> Path | None:
    if dockerfile_path is not None:
        specific = dockerfile_path.parent / (dockerfile_path.name + ".dockerignore")
        if specific.is_file():
            return specific
    default = root / ".dockerignore"
    return default if default.is_file() else None


def _scan(root: Path, dockerfile_path: Path | None) -> SourceTree:
    if _ignore_file(root, dockerfile_path) is None:
        return SourceTree.scan(root)
    from dockyard.dockerfile.ignore import load_ignore_rules, walk_context

    rules = load_ignore_rules(root, dockerfile_path)
    return SourceTree.from_entries(
        root, ((entry.path, entry.stat) for entry in walk_context(root, rules))
    )


def is_tar_stream(head: bytes) -> bool:
    """Does a stream starting with ``head`` (>= 512 bytes if plain) hold a tar context?"""
    from dockyard.compression import sniff_compression
    from dockyard.solver.fileops.archive import _valid_tar_header

    if sniff_compression(head) in ("gzip", "bzip2", "xz"):
        return True
    return _valid_tar_header(head[:512])


def extract_context_tar(stream: IO[bytes], directory: Path) -> None:
    """Extract a (possibly compressed) tar context into ``directory``, safely.

    Paths that climb out are refused, symlinks are kept as they are (they only ever
    resolve inside the context), hard links must point inside.
    """
    from dockyard.compression import decompressed
    from dockyard.solver.fileops.archive import extract_tar

    directory.mkdir(parents=True, exist_ok=True)
    with decompressed(stream) as plain:  # type: ignore[arg-type]
        extract_tar(plain, str(directory), None, name="the build context")
