"""File primitives of the store: the default root, atomic writes, fcntl locks."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from dockyard.errors import StoreError


def default_root() -> Path:
    """``$DOCKYARD_ROOT``, else ``/var/lib/dockyard`` for root, else the XDG data dir."""
    explicit = os.environ.get("DOCKYARD_ROOT")
    if explicit:
        return Path(explicit)
    if os.geteuid() == 0:
        return Path("/var/lib/dockyard")
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "dockyard"


def temp_name(prefix: str) -> str:
    return f"{prefix}{os.getpid()}-{os.urandom(6).hex()}"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_SYNC_FILE_RANGE_WRITE = 2
_sync_file_range: Callable[[int, int, int, int], int] | None = None


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Start writing a range of a file to disk without waiting for it
    (``sync_file_range(SYNC_FILE_RANGE_WRITE)``; Python's os module lacks it).

    A large blob's fsync then finds most of its pages already on their way, instead of
    writing them all at the end. Durability still comes from the fsync: this only
    moves work earlier, so where the call is unavailable, nothing else changes.
    """
    global _sync_file_range
    if _sync_file_range is None:
        import ctypes  # only for large blobs: keeps every command's start light

        try:  # the process links libc already: dlopen(NULL) finds it without a lookup
            function = ctypes.CDLL(None, use_errno=True).sync_file_range
        except AttributeError:
            _sync_file_range = _no_writeback
            return
        function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
        function.restype = ctypes.c_int
        _sync_file_range = function
    _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


def _no_writeback(fd: int, offset: int, length: int, flags: int) -> int:
    return 0


def atomic_write(path: Path, data: bytes, durable: bool = True) -> None:
    """Replace ``path`` with ``data``: temp file in the same directory, fsync, rename."""
    tmp = path.with_name(temp_name(f".tmp-{path.name}-"))
    try:
        with open(tmp, "wb") as out:
            out.write(data)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StoreError(f"cannot write {path}: {error.strerror}") from None
    if durable:
        fsync_dir(path.parent)


def is_temp_name(name: str) -> bool:
    return name.startswith((".tmp-", ".trash-"))


class FileLock:
    """An fcntl (flock) lock on a file; released when the process dies, even by kill -9."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._mode = 0
        self._depth = 0

    def acquire(self, exclusive: bool, blocking: bool = True) -> bool:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        if self._fd is not None and self._mode == mode:
            return True
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as error:
                raise StoreError(f"cannot open lock {self.path}: {error.strerror}") from None
        try:
            fcntl.flock(self._fd, mode | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        self._mode = mode
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None
            self._mode = 0

    @property
    def held(self) -> bool:
        return self._fd is not None and self._mode != 0

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the lock exclusively for a block; nested blocks reuse the outer hold."""
        if self._depth == 0:
            self.acquire(exclusive=True)
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self.release()
