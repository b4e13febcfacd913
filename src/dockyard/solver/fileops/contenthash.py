"""Content hashes of what a COPY reads: the cache key's view of its sources.

Like BuildKit's contenthash (tarsum): an entry's digest covers its type, permission
and special bits, owner, link target, device number and content (sha256), and for a
directory the names and digests of its children -- never timestamps. Directory
digests are memoised (a Merkle tree), file contents come from the stat cache when
the file did not change, and files that must be read are hashed on a few threads
(hashlib releases the GIL).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from dockyard.errors import BuildError
from dockyard.solver.fileops.statcache import StatCache, now_ns
from dockyard.solver.fileops.tree import SourceTree, join

HASH_WORKERS = 4
_PARALLEL_BYTES = 1 << 20

Matcher = Callable[[str], bool]


def _hash_file(path: str) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        raise BuildError(f"cannot read {path}: {error.strerror}") from error
    try:
        with open(fd, "rb", closefd=False) as stream:
            return hashlib.file_digest(stream, "sha256").digest()
    finally:
        os.close(fd)


class ContentHasher:
    """Digests of entries of one :class:`SourceTree` (memoised per hasher)."""

    def __init__(self, tree: SourceTree, cache: StatCache | None = None) -> None:
        self.tree = tree
        self.cache = cache if cache is not None else StatCache()
        self._files: dict[str, bytes] = {}
        self._entries: dict[str, bytes] = {}
        self.bytes_read = 0
        # (device, inode) of every file in the tree, when known: stale cache entries go.
        self.live_inodes: set[tuple[int, int]] | None = None

    def save(self) -> None:
        """Persist the stat cache (once the build's cache keys are computed)."""
        if self.live_inodes is not None:
            self.cache.retain(self.live_inodes)
        self.cache.save()

    # -- files ---------------------------------------------------------------------

    def prefetch(self, items: Iterable[tuple[str, os.stat_result]]) -> None:
        """Make sure the content digests of these entries are known (reads the misses)."""
        missing: list[tuple[str, os.stat_result]] = []
        for rel, st in items:
            if not stat.S_ISREG(st.st_mode) or rel in self._files:
                continue
            cached = self.cache.get(st)
            if cached is not None:
                self._files[rel] = cached
            else:
                missing.append((rel, st))
        if not missing:
            return
        started = now_ns()
        total = sum(st.st_size for _, st in missing)
        paths = [self.tree.disk_path(rel) for rel, _ in missing]
        if len(missing) > 1 and total >= _PARALLEL_BYTES:
            with ThreadPoolExecutor(HASH_WORKERS) as pool:
                digests = list(pool.map(_hash_file, paths, chunksize=16))
        else:
            digests = [_hash_file(path) for path in paths]
        for (rel, st), digest in zip(missing, digests, strict=True):
            self._files[rel] = digest
            self.cache.put(st, digest, started)
        self.bytes_read += total

    def file_digest(self, rel: str, st: os.stat_result) -> bytes:
        digest = self._files.get(rel)
        if digest is None:
            self.prefetch([(rel, st)])
            digest = self._files[rel]
        return digest

    # -- entries -------------------------------------------------------------------

    def header(self, rel: str, st: os.stat_result) -> bytes:
        """Everything about one entry except children: type, mode, owner, link, content."""
        mode = st.st_mode
        uid, gid = self.tree.owner(st)
        head = f"{stat.S_IFMT(mode):o} {stat.S_IMODE(mode):o} {uid}:{gid}"
        if stat.S_ISREG(mode):
            return head.encode() + b" " + self.file_digest(rel, st)
        if stat.S_ISLNK(mode):
            return f"{head} ->{self.tree.readlink(rel)}".encode(errors="surrogateescape")
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            return f"{head} {os.major(st.st_rdev)},{os.minor(st.st_rdev)}".encode()
        return head.encode()

    def entry_digest(self, rel: str) -> bytes:
        """Digest of the entry at ``rel`` (not following a final symlink), whole subtree."""
        known = self._entries.get(rel)
        if known is not None:
            return known
        st = self.tree.lstat(rel)
        if st is None:
            raise BuildError(f"{rel or '/'}: not found")
        if stat.S_ISDIR(st.st_mode):
            self.prefetch(self.tree.walk(rel))
        digest = self._digest(rel, st)
        return digest

    def _digest(self, rel: str, st: os.stat_result) -> bytes:
        known = self._entries.get(rel)
        if known is not None:
            return known
        hasher = hashlib.sha256(self.header(rel, st))
        if stat.S_ISDIR(st.st_mode):
            for name in self.tree.children(rel):
                child = join(rel, name)
                child_st = self.tree.lstat(child)
                if child_st is None:
                    continue
                hasher.update(b"\0" + name.encode(errors="surrogateescape") + b"\0")
                hasher.update(self._digest(child, child_st))
        digest = hasher.digest()
        self._entries[rel] = digest
        return digest

    def filtered_digest(self, rel: str, include: Matcher | None, exclude: Matcher | None) -> bytes:
        """Digest of ``rel``'s subtree keeping only the non-directories (paths relative
        to ``rel``) that pass ``include`` and are not ``exclude``-d."""
        items = list(self.tree.walk(rel))
        prefix = len(rel) + 1 if rel else 0
        kept: list[tuple[str, os.stat_result]] = []
        for path, st in items:
            inner = path[prefix:] if path != rel else ""
            # Directories always count: they may become the parents of kept entries.
            if inner and not stat.S_ISDIR(st.st_mode):
                if include is not None and not include(inner):
                    continue
                if exclude is not None and exclude(inner):
                    continue
            kept.append((path, st))
        self.prefetch(kept)
        hasher = hashlib.sha256()
        for path, st in kept:
            inner = path[prefix:] if path != rel else ""
            hasher.update(inner.encode(errors="surrogateescape") + b"\0")
            hasher.update(self.header(path, st) + b"\n")
        return hasher.digest()
