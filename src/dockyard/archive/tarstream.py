"""Streaming tar for archives: a writer that copies blobs with ``sendfile`` and a reader
that accepts plain, gzip'd (isal), zstd or xz/bzip2 input, seekable or not."""

from __future__ import annotations

import bz2
import contextlib
import io
import lzma
import os
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

from dockyard.errors import ArchiveError
from dockyard.fs.magic import sniff_compression

CHUNK = 1 << 20
_BLOCK = tarfile.BLOCKSIZE


class PeekableStream(io.RawIOBase):
    """A read-only stream whose first bytes can be looked at before reading."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._raw = raw
        self._head = b""

    def readable(self) -> bool:
        return True

    def peek(self, size: int) -> bytes:
        while len(self._head) < size:
            chunk = self._raw.read(size - len(self._head))
            if not chunk:
                break
            self._head += chunk
        return self._head[:size]

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            count = min(len(view), len(self._head))
            view[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        data = self._raw.read(len(view))
        view[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            data, self._head = self._head + self._raw.read(), b""
            return data
        if self._head:
            data, self._head = self._head[:size], self._head[size:]
            if len(data) < size:
                data += self._raw.read(size - len(data))
            return data
        return self._raw.read(size)


def decompressed(stream: BinaryIO, compression: str) -> BinaryIO:
    if compression == "gzip":
        from isal import igzip

        return cast(BinaryIO, igzip.IGzipFile(fileobj=stream, mode="rb"))  # type: ignore[no-untyped-call]
    if compression == "zstd":
        try:
            import zstandard
        except ImportError:
            raise ArchiveError("zstd input needs the 'zstandard' package") from None
        return cast(BinaryIO, zstandard.ZstdDecompressor().stream_reader(stream))
    if compression == "xz":
        return cast(BinaryIO, lzma.LZMAFile(stream))
    if compression == "bzip2":
        return cast(BinaryIO, bz2.BZ2File(stream))
    return stream


@dataclass(frozen=True)
class ArchiveTar:
    """A tar reader, and the archive's file descriptor when members can be read in
    place (a plain, seekable file): a member's data is at its ``offset_data``."""

    tar: tarfile.TarFile
    fd: int | None


@contextlib.contextmanager
def open_tar(source: Path | BinaryIO, what: str) -> Iterator[ArchiveTar]:
    """A tar reader over a file or stream, compressed or not (detected by magic bytes).

    A plain regular file is opened seekable, so members are read in place.
    """
    with contextlib.ExitStack() as stack:
        if isinstance(source, Path):
            try:
                raw: BinaryIO = stack.enter_context(open(source, "rb"))
            except OSError as error:
                raise ArchiveError(f"cannot open {source}: {error.strerror}") from None
            head = raw.read(8)
            raw.seek(0)
            if not sniff_compression(head):
                try:
                    tar = stack.enter_context(tarfile.open(fileobj=raw, mode="r:"))
                    yield ArchiveTar(tar, raw.fileno())
                except tarfile.TarError as error:
                    raise ArchiveError(f"{what} is not a tar archive: {error}") from None
                return
        else:
            raw = source
        peekable = PeekableStream(raw)
        stream = decompressed(cast(BinaryIO, peekable), sniff_compression(peekable.peek(8)))
        try:
            tar = stack.enter_context(tarfile.open(fileobj=stream, mode="r|", bufsize=CHUNK))
            yield ArchiveTar(tar, None)
        except (tarfile.TarError, EOFError, OSError) as error:
            raise ArchiveError(f"{what} is not a readable tar archive: {error}") from None


class TarWriter:
    """Writes a tar stream: directories, in-memory files, and files copied by descriptor."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._mtime = int(time.time())
        self._fd: int | None
        try:
            self._fd = out.fileno()
        except (OSError, AttributeError, ValueError):
            self._fd = None

    def _header(self, name: str, size: int, kind: bytes, mode: int) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.type, info.mode, info.mtime = size, kind, mode, self._mtime
        self._out.write(info.tobuf(format=tarfile.PAX_FORMAT))

    def _pad(self, size: int) -> None:
        remainder = size % _BLOCK
        if remainder:
            self._out.write(b"\0" * (_BLOCK - remainder))

    def add_dir(self, name: str) -> None:
        self._header(name.rstrip("/") + "/", 0, tarfile.DIRTYPE, 0o755)

    def add_bytes(self, name: str, data: bytes) -> None:
        self._header(name, len(data), tarfile.REGTYPE, 0o644)
        self._out.write(data)
        self._pad(len(data))

    def add_file(self, name: str, path: Path) -> None:
        """Copy a file's bytes; ``sendfile`` when the output is a real file or pipe."""
        with open(path, "rb") as source:
            size = os.fstat(source.fileno()).st_size
            self._header(name, size, tarfile.REGTYPE, 0o644)
            self._copy(source, size)
        self._pad(size)

    def _copy(self, source: BinaryIO, size: int) -> None:
        if self._fd is not None:
            self._out.flush()
            offset = 0
            try:
                while offset < size:
                    sent = os.sendfile(self._fd, source.fileno(), offset, size - offset)
                    if sent == 0:
                        break
                    offset += sent
            except OSError:
                source.seek(offset)
                self._copy_stream(source, size - offset)
                return
            if offset != size:
                raise ArchiveError("a blob changed size while it was being saved")
            return
        self._copy_stream(source, size)

    def _copy_stream(self, source: BinaryIO, size: int) -> int:
        """Copy up to ``size`` bytes (``-1``: to the end) with one reused buffer."""
        view = memoryview(bytearray(CHUNK))
        readinto = getattr(source, "readinto", None)
        copied = 0
        while size < 0 or copied < size:
            want = CHUNK if size < 0 else min(CHUNK, size - copied)
            if readinto is not None:
                count = readinto(view[:want])
                chunk: memoryview | bytes = view[:count]
            else:
                chunk = source.read(want)
                count = len(chunk)
            if not count:
                if size < 0:
                    break
                raise ArchiveError("a blob was truncated while it was being saved")
            self._out.write(chunk)
            copied += count
        return copied

    def add_stream(self, name: str, source: BinaryIO, size: int | None) -> int:
        """Copy a stream (a decompressed layer). Without a known ``size`` the output
        must be seekable: the header is written again once the size is known."""
        if size is None:
            start = self._out.tell()
            self._header(name, 0, tarfile.REGTYPE, 0o644)
            header_end = self._out.tell()
            size = self._copy_stream(source, -1)
            end = self._out.tell()
            self._out.seek(start)
            self._header(name, size, tarfile.REGTYPE, 0o644)
            if self._out.tell() != header_end:
                raise ArchiveError(f"{name}: tar header changed length")
            self._out.seek(end)
        else:
            self._header(name, size, tarfile.REGTYPE, 0o644)
            self._copy_stream(source, size)
            if source.read(1):
                raise ArchiveError(f"{name}: more data than its recorded size")
        self._pad(size)
        return size

    def seekable(self) -> bool:
        try:
            return self._out.seekable()
        except (AttributeError, ValueError):
            return False

    def close(self) -> None:
        self._out.write(b"\0" * (_BLOCK * 2))
        self._out.flush()
