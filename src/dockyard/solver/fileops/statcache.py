"""A persistent stat cache: (device, inode, size, mtime, ctime) -> content sha256.

It lets a rebuild skip reading files that did not change, as git's index does. One
compact file per context directory (``marshal`` of a dict: loads 20,000 entries in a
few milliseconds), rewritten atomically only when something changed. Entries whose
mtime/ctime are too close to the moment the file was read are "racy" (the file could
have changed again within the timestamp granularity) and are not persisted.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import time
from pathlib import Path

_MAGIC = "dockyard-statcache-1"
# Coarse kernel clocks stamp files at jiffy granularity (<= 10 ms); keep a margin.
RACY_NS = 50_000_000

_Key = tuple[int, int]
_Value = tuple[int, int, int, bytes]


class StatCache:
    """Content digests of files keyed by their stat; optionally backed by a file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.entries: dict[_Key, _Value] = {}
        self._racy: set[_Key] = set()
        self.dirty = False
        self.hits = 0
        self.misses = 0
        if path is not None:
            self._load(path)

    @classmethod
    def for_directory(cls, cache_root: Path, directory: Path) -> StatCache:
        """The cache file of one context directory, under ``cache_root``."""
        key = hashlib.sha256(os.fsencode(os.path.realpath(directory))).hexdigest()[:32]
        return cls(cache_root / f"{key}.statcache")

    def _load(self, path: Path) -> None:
        try:
            data = path.read_bytes()
        except OSError:
            return
        try:
            magic, entries = marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            return
        if magic == _MAGIC and isinstance(entries, dict):
            self.entries = entries

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, st: os.stat_result) -> bytes | None:
        """The cached sha256 (32 bytes) of the file with this stat, if still valid."""
        value = self.entries.get((st.st_dev, st.st_ino))
        if (
            value is not None
            and value[0] == st.st_size
            and value[1] == st.st_mtime_ns
            and value[2] == st.st_ctime_ns
        ):
            self.hits += 1
            return value[3]
        self.misses += 1
        return None

    def put(self, st: os.stat_result, digest: bytes, read_started_ns: int) -> None:
        """Remember ``digest`` for a file whose content was read after ``read_started_ns``."""
        key = (st.st_dev, st.st_ino)
        self.entries[key] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, digest)
        if max(st.st_mtime_ns, st.st_ctime_ns) >= read_started_ns - RACY_NS:
            self._racy.add(key)
        else:
            self._racy.discard(key)
        self.dirty = True

    def retain(self, live: set[_Key]) -> None:
        """Forget files that are no longer in the directory (``live`` = its inodes)."""
        stale = [key for key in self.entries if key not in live]
        for key in stale:
            del self.entries[key]
        if stale:
            self.dirty = True

    def save(self) -> None:
        """Write the cache atomically if it changed (racy entries left out)."""
        if self.path is None or not self.dirty:
            return
        entries = {k: v for k, v in self.entries.items() if k not in self._racy}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A random name without tempfile (which imports random: start-up time).
        temp = self.path.parent / f".statcache-{os.getpid()}-{os.urandom(6).hex()}"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(marshal.dumps((_MAGIC, entries)))
            os.replace(temp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            return
        self.dirty = False


def now_ns() -> int:
    return time.time_ns()
