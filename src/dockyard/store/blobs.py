"""The blob store: ``blobs/sha256/<hex>``, written through ``ingest/`` and renamed.

Nothing is visible under ``blobs/`` until it is complete, synced and its digest
checked, so a kill at any instant leaves at most a file in ``ingest/``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import queue
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, cast

from dockyard.digest import Digest
from dockyard.errors import CorruptBlobError, StoreError
from dockyard.oci import Descriptor
from dockyard.store.files import fsync_dir, start_writeback, temp_name

CHUNK = 1 << 20
_BUFFERS = 4  # measured: 2 leave the hash thread idle at times, more than 4 gain nothing
_WRITEBACK = 2 << 20  # measured on 437 MB: fsync 147 ms without, 3 ms at 8 MiB, 1.7 at 2


class _HashingThread:
    """Hashes chunks in a thread of its own, in order; each chunk's buffer comes back
    to ``free_buffer`` once hashed."""

    def __init__(self, hasher: hashlib._Hash) -> None:
        self._hasher = hasher
        self._free: queue.SimpleQueue[memoryview] = queue.SimpleQueue()
        self._todo: queue.SimpleQueue[tuple[memoryview, memoryview] | None] = queue.SimpleQueue()
        for _ in range(_BUFFERS):
            self._free.put(memoryview(bytearray(CHUNK)))
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="blob-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._todo.get()) is not None:
            chunk, buffer = item
            if self._error is None:
                try:
                    self._hasher.update(chunk)
                except BaseException as error:  # re-raised by finish()
                    self._error = error
            self._free.put(buffer)

    def free_buffer(self) -> memoryview:
        return self._free.get()

    def give_back(self, buffer: memoryview) -> None:
        self._free.put(buffer)

    def hash(self, chunk: memoryview, buffer: memoryview) -> None:
        """Hash ``chunk`` (a view of ``buffer``, or other bytes read instead); the
        caller must not refill ``buffer`` before ``free_buffer`` returns it again."""
        self._todo.put((chunk, buffer))

    def finish(self) -> None:
        self._todo.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


class BlobWriter(io.RawIOBase):
    """A writable binary file that becomes a blob on ``commit``; discarded otherwise."""

    def __init__(self, blobs: BlobStore, expected: Digest | None = None) -> None:
        super().__init__()
        self._blobs = blobs
        self._expected = expected
        self._hasher = hashlib.sha256()
        self.size = 0
        self._synced_size = -1
        self.path = blobs.ingest_dir / temp_name("")
        try:
            self._file = open(self.path, "xb", buffering=CHUNK)  # noqa: SIM115
        except OSError as error:
            raise StoreError(f"cannot create {self.path}: {error.strerror}") from None
        self.descriptor: Descriptor | None = None

    @property
    def stream(self) -> BinaryIO:
        return cast(BinaryIO, self)

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._hasher.update(data)
        self._file.write(data)
        length = len(data)
        self.size += length
        return length

    def copy_from(self, source: BinaryIO, length: int | None = None) -> None:
        """Copy ``length`` bytes (or everything) from a stream."""
        readinto = getattr(source, "readinto", None)
        if readinto is not None:

            def fill(buffer: memoryview) -> memoryview:
                return buffer[: readinto(buffer)]

        else:

            def fill(buffer: memoryview) -> memoryview:
                return memoryview(source.read(len(buffer)))

        self._copy(fill, length)

    def copy_range(self, fd: int, offset: int, length: int) -> None:
        """Copy ``length`` bytes at ``offset`` of an open file (read in place with
        ``pread``: the file's position is neither used nor moved)."""
        position = offset

        def fill(buffer: memoryview) -> memoryview:
            nonlocal position
            count = os.preadv(fd, [buffer], position)
            position += count
            return buffer[:count]

        self._copy(fill, length)

    def _copy(self, fill: Callable[[memoryview], memoryview], length: int | None) -> None:
        """Read and write in this thread while another hashes what was written.

        The hash is the long pole (sha256 is slower than a page-cache copy), so it gets
        a core of its own: ``_BUFFERS`` reused buffers (fresh 1 MiB ``bytes`` per chunk
        cost more in page faults than the copy itself) cycle from here to the hashing
        thread and back; hashlib and file I/O release the GIL. The bytes hashed are
        the bytes written. Every ``_WRITEBACK`` bytes the kernel is asked to start
        writing to disk, so the fsync (here, while the last chunks are being hashed;
        ``commit`` checks the digest before the rename) finds little left to do.
        """
        self._file.flush()
        fd = self._file.fileno()
        hashing = _HashingThread(self._hasher)
        try:
            remaining = length
            written_back = self.size
            while remaining is None or remaining > 0:
                buffer = hashing.free_buffer()
                chunk = fill(buffer if remaining is None else buffer[: min(CHUNK, remaining)])
                count = len(chunk)
                if not count:
                    hashing.give_back(buffer)
                    if remaining:
                        raise StoreError("unexpected end of data while writing a blob")
                    break
                hashing.hash(chunk, buffer)
                written = 0
                while written < count:
                    written += os.write(fd, chunk[written:])
                self.size += count
                if remaining is not None:
                    remaining -= count
                if self.size - written_back >= _WRITEBACK:
                    start_writeback(fd, written_back, self.size - written_back)
                    written_back = self.size
            os.fsync(fd)  # while the last chunks are hashed: commit's fsync is then free
            self._synced_size = self.size
        finally:
            hashing.finish()

    @property
    def digest(self) -> Digest:
        return Digest.from_hasher(self._hasher)

    def commit(self, media_type: str) -> Descriptor:
        """Sync, check the digest, rename into ``blobs/``; returns the descriptor."""
        if self.descriptor is not None:
            return self.descriptor
        digest = self.digest
        if self._expected is not None and digest != self._expected:
            self.abort()
            raise CorruptBlobError(
                f"content does not match its digest: expected {self._expected}, got {digest}",
                "the source is corrupt or was truncated",
            )
        self._file.flush()
        if self._synced_size != self.size:
            os.fsync(self._file.fileno())
        self._file.close()
        target = self._blobs.path(digest)
        os.replace(self.path, target)
        fsync_dir(target.parent)
        self.descriptor = Descriptor(media_type, digest, self.size)
        return self.descriptor

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def close(self) -> None:
        if self.descriptor is None:
            self.abort()
        super().close()

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.dir = root / "blobs" / "sha256"
        self.ingest_dir = root / "ingest"

    def create_dirs(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ingest_dir.mkdir(exist_ok=True)

    def path(self, digest: Digest) -> Path:
        return self.dir / digest.hex

    def has(self, digest: Digest) -> bool:
        return self.path(digest).is_file()

    def size(self, digest: Digest) -> int:
        return self.path(digest).stat().st_size

    def open(self, digest: Digest) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise StoreError(
                f"blob {digest} is missing from the store",
                "run 'dockyard system check'; re-load or re-pull the image",
            ) from None

    def read(self, digest: Digest) -> bytes:
        """Read a (small) blob and check its digest."""
        with self.open(digest) as blob:
            data = blob.read()
        if Digest.of_bytes(data) != digest:
            raise CorruptBlobError(f"blob {digest} is corrupt", "run 'dockyard system check'")
        return data

    def writer(self, expected: Digest | None = None) -> BlobWriter:
        return BlobWriter(self, expected)

    def write(self, data: bytes, media_type: str) -> Descriptor:
        digest = Digest.of_bytes(data)
        if self.has(digest):
            return Descriptor(media_type, digest, len(data))
        with self.writer(digest) as writer:
            writer.write(data)
            return writer.commit(media_type)

    def add_file(
        self, path: Path, media_type: str, expected: Digest | None = None, move: bool = False
    ) -> Descriptor:
        """Add a file's content; ``move`` renames it in (same filesystem) after hashing."""
        if move:
            with open(path, "rb") as source:
                digest, size = Digest.of_stream(source)
                os.fsync(source.fileno())
            if expected is not None and digest != expected:
                raise CorruptBlobError(f"{path} does not match its digest {expected}")
            if not self.has(digest):
                try:
                    os.replace(path, self.path(digest))
                except OSError:
                    move = False
            if move:
                return Descriptor(media_type, digest, size)
        with open(path, "rb") as source, self.writer(expected) as writer:
            writer.copy_from(source)
            return writer.commit(media_type)

    def digests(self) -> Iterator[Digest]:
        if not self.dir.is_dir():
            return
        for entry in os.scandir(self.dir):
            if Digest.is_valid(f"sha256:{entry.name}"):
                yield Digest(f"sha256:{entry.name}")

    def stray_files(self) -> list[Path]:
        """Files under ``blobs/sha256`` whose names are not digests."""
        if not self.dir.is_dir():
            return []
        return [
            Path(e.path) for e in os.scandir(self.dir) if not Digest.is_valid(f"sha256:{e.name}")
        ]

    def delete(self, digest: Digest) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(digest).unlink()

    def ingest_leftovers(self) -> list[Path]:
        if not self.ingest_dir.is_dir():
            return []
        return [Path(entry.path) for entry in os.scandir(self.ingest_dir)]

    def clean_ingest(self) -> int:
        """Remove ingest leftovers (only call with every writer excluded)."""
        removed = 0
        for path in self.ingest_leftovers():
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed += 1
        return removed
