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
import itertools
import os
import stat
from collections.abc import Callable

from dockyard.errors import BuildError
from dockyard.solver.fileops.statcache import StatCache, now_ns
from dockyard.solver.fileops.tree import SourceTree

HASH_WORKERS = 4
READ_CHUNK = 1 << 20
_PARALLEL_BYTES = 1 << 20

Matcher = Callable[[str], bool]


def _hash_file(path: str, size: int, buffer: memoryview) -> bytes:
    """sha256 of the content, with the file's xattrs folded in when it has any.

    The content is read in ``buffer``-sized pieces into that one buffer: no
    allocation per file or per piece (``hashlib.file_digest`` allocates and zeroes a
    256 KiB buffer per file, which costs more than hashing a small file), and memory
    stays flat for huge files. Reading stops at ``size`` (the lstat the digest is
    cached under, and the bytes a layer takes from the file), without a read that
    finds the end. Changing an xattr changes ctime, so the stat cache never serves a
    stale value.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        raise BuildError(f"cannot read {path}: {error.strerror}") from error
    try:
        hasher = hashlib.sha256()
        try:
            left = size
            while left > 0:
                count = os.readv(fd, [buffer[:left] if left < len(buffer) else buffer])
                if not count:
                    break
                hasher.update(buffer[:count])
                left -= count
        except OSError as error:
            raise BuildError(f"cannot read {path}: {error.strerror}") from error
        digest = hasher.digest()
        try:
            names = sorted(name for name in os.listxattr(fd) if not name.startswith("trusted."))
        except OSError:
            names = []
        if not names:
            return digest
        folded = hashlib.sha256(digest)
        for name in names:
            folded.update(b"\0" + name.encode() + b"\0" + os.getxattr(fd, name))
        return folded.digest()
    finally:
        os.close(fd)


def _hash_files(files: list[tuple[str, int]], workers: int) -> list[bytes]:
    """Digests of ``files`` (path, size), in order, on ``workers`` threads, each with
    one read buffer."""
    digests: list[bytes] = [b""] * len(files)
    claimed = itertools.count()  # next() on a count is atomic: a shared work queue

    def work() -> None:
        buffer = memoryview(bytearray(READ_CHUNK))
        while (index := next(claimed)) < len(files):
            path, size = files[index]
            digests[index] = _hash_file(path, size, buffer)

    if workers <= 1:
        work()
        return digests
    from concurrent.futures import ThreadPoolExecutor  # only here: it costs ~4 ms to import

    with ThreadPoolExecutor(workers, thread_name_prefix="dockyard-hash") as pool:
        for future in [pool.submit(work) for _ in range(workers)]:
            future.result()
    return digests


def _skipped(inner: str, include: Matcher | None, exclude: Matcher | None) -> bool:
    if include is not None and not include(inner):
        return True
    return exclude is not None and exclude(inner)


class ContentHasher:
    """Digests of entries of one :class:`SourceTree` (memoised per hasher)."""

    def __init__(self, tree: SourceTree, cache: StatCache | None = None) -> None:
        self.tree = tree
        self.cache = cache if cache is not None else StatCache()
        self._files: dict[str, bytes] = {}
        self._entries: dict[str, bytes] = {}
        self.bytes_read = 0

    def save(self) -> None:
        """Persist the stat cache (once the build's cache keys are computed).

        For a snapshot (the whole context is known) entries of files that are gone
        are dropped at the same time.
        """
        if not self.cache.dirty:
            return
        if self.tree.snapshot:
            live = {
                (st.st_dev, st.st_ino) for _, st in self.tree.entries() if stat.S_ISREG(st.st_mode)
            }
            self.cache.retain(live)
        self.cache.save()

    # -- entries -------------------------------------------------------------------

    def _header(self, rel: str, st: os.stat_result) -> bytes:
        """Everything about one non-file entry: type, mode, owner, link target, device."""
        mode = st.st_mode
        uid, gid = self.tree.owner(st)
        head = f"{stat.S_IFMT(mode):o} {stat.S_IMODE(mode):o} {uid}:{gid}"
        if stat.S_ISLNK(mode):
            return f"{head} ->{self.tree.readlink(rel)}".encode(errors="surrogateescape")
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            return f"{head} {os.major(st.st_rdev)},{os.minor(st.st_rdev)}".encode()
        return head.encode()

    def entry_digest(self, rel: str) -> bytes:
        """Digest of the entry at ``rel`` (a final symlink not followed) and all below it."""
        known = self._entries.get(rel)
        if known is None:
            known = self._subtree_digest(rel, None, None)
            self._entries[rel] = known
        return known

    def filtered_digest(self, rel: str, include: Matcher | None, exclude: Matcher | None) -> bytes:
        """Digest of ``rel``'s subtree keeping only the non-directories (paths relative
        to ``rel``) that pass ``include`` and are not ``exclude``-d."""
        return self._subtree_digest(rel, include, exclude)

    def _subtree_digest(self, rel: str, include: Matcher | None, exclude: Matcher | None) -> bytes:
        """One flat pass: ``path NUL header NUL content-digest`` per entry, sorted, hashed.

        This loop is the no-op rebuild's cost, so it avoids calls per entry: file
        digests come straight from the memo or the stat cache's dict.
        """
        tree = self.tree
        root_st = tree.lstat(rel)
        if root_st is None:
            raise BuildError(f"{rel or '/'}: not found")
        files = self._files
        cached = self.cache.entries
        zero = tree.owners_zero
        is_reg, is_dir = stat.S_ISREG, stat.S_ISDIR
        lstat, children = tree.lstat, tree.children
        filtered = include is not None or exclude is not None
        parts: list[bytes] = []
        missing: list[tuple[int, str, os.stat_result]] = []
        hits = 0
        prefix = len(rel) + 1 if rel else 0
        stack: list[tuple[str, os.stat_result]] = [(rel, root_st)]
        while stack:
            path, st = stack.pop()
            mode = st.st_mode
            inner = path[prefix:] if path != rel else ""
            if is_dir(mode):
                # Directories always count: they may become the parents of kept entries.
                parts.append(f"{inner}\0".encode(errors="surrogateescape"))
                parts.append(self._header(path, st))
                for name in reversed(children(path)):
                    child = f"{path}/{name}" if path else name
                    child_st = lstat(child)
                    if child_st is not None:
                        stack.append((child, child_st))
                continue
            if filtered and inner and _skipped(inner, include, exclude):
                continue
            if not is_reg(mode):
                parts.append(f"{inner}\0".encode(errors="surrogateescape"))
                parts.append(self._header(path, st))
                continue
            if zero:
                parts.append(f"{inner}\0{mode}\0".encode(errors="surrogateescape"))
            else:
                text = f"{inner}\0{mode} {st.st_uid}:{st.st_gid}\0"
                parts.append(text.encode(errors="surrogateescape"))
            digest = files.get(path)
            if digest is None:
                value = cached.get((st.st_dev, st.st_ino))
                if (
                    value is not None
                    and value[0] == st.st_size
                    and value[1] == st.st_mtime_ns
                    and value[2] == st.st_ctime_ns
                ):
                    digest = files[path] = value[3]
                    hits += 1
            if digest is None:
                missing.append((len(parts), path, st))
                parts.append(b"")
            else:
                parts.append(digest)
        self.cache.hits += hits
        self.cache.misses += len(missing)
        if missing:
            self._read([(path, st) for _, path, st in missing])
            for index, path, _ in missing:
                parts[index] = files[path]
        return hashlib.sha256(b"\n".join(parts)).digest()

    def _read(self, missing: list[tuple[str, os.stat_result]]) -> None:
        """Hash files that are not in the stat cache (in parallel when it pays)."""
        started = now_ns()
        total = sum(st.st_size for _, st in missing)
        files = [(self.tree.disk_path(rel), st.st_size) for rel, st in missing]
        parallel = len(missing) > 1 and total >= _PARALLEL_BYTES
        digests = _hash_files(files, min(HASH_WORKERS, len(missing)) if parallel else 1)
        for (rel, st), digest in zip(missing, digests, strict=True):
            self._files[rel] = digest
            self.cache.put(st, digest, started)
        self.bytes_read += total
