"""Compressed streams, recognised by their content: the one sniffer and the one opener.

Compression is read from a stream's first bytes, never from a file name or a media
type, as Docker does: skopeo can push or copy an uncompressed layer labelled
``+gzip``, and a tarball's suffix says nothing. ``sniff_compression`` names the
compression of a stream's first bytes; ``decompressed`` gives a reader of the plain
bytes of any stream (gzip through ISA-L, zstd, xz, bzip2, or none). It sits below
every package (like ``digest``) so the store, fs, archive and the solver all use it.
Only the stdlib is imported here; a decompressor loads when a stream needs it.
"""

from __future__ import annotations

import io
from typing import Any, BinaryIO, cast

from dockyard.errors import DockyardError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
XZ_MAGIC = b"\xfd7zXZ\x00"
BZIP2_MAGIC = b"BZh"
MAGIC_SIZE = 6  # enough bytes to tell every compression above apart

CHUNK = 1 << 20


def sniff_compression(head: bytes) -> str:
    """ "gzip", "zstd", "xz", "bzip2", or "" for none, from a stream's first bytes."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    if head.startswith(XZ_MAGIC):
        return "xz"
    if head.startswith(BZIP2_MAGIC):
        return "bzip2"
    return ""


class PeekableStream(io.RawIOBase):
    """A read-only view of a stream whose first bytes can be looked at before reading.

    The stream stays the caller's: closing the view leaves it open.
    """

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._raw = raw
        self._head = b""

    def readable(self) -> bool:
        return True

    def peek(self, size: int) -> bytes:
        """Up to ``size`` first bytes (fewer only at the end of the stream)."""
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
        readinto = getattr(self._raw, "readinto", None)
        if readinto is not None:
            return int(readinto(view))
        data = self._raw.read(len(view))
        view[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            data, self._head = self._head + self._raw.read(), b""
            return data
        if self._head:
            data, self._head = self._head[:size], self._head[size:]
            if len(data) < size:
                data += self._raw.read(size - len(data))
            return data
        return self._raw.read(size)


class DecompressionError(OSError):
    """The stream is not valid data of the compression its first bytes announce."""


def compression_of_stream(stream: PeekableStream) -> str:
    """The compression of a peekable stream, by its first bytes (nothing is consumed)."""
    return sniff_compression(stream.peek(MAGIC_SIZE))


def decompressed(stream: BinaryIO | PeekableStream) -> BinaryIO:
    """A reader of the plain bytes of ``stream``, decompressed as its first bytes say.

    ``stream`` only needs ``read`` (a pipe will do) and stays the caller's: closing the
    reader leaves it open. Close the reader when done (gzip reads ahead on a thread).
    Corrupt data raises an OSError (``DecompressionError`` where the decompressor has
    error types of its own), truncated data EOFError, whichever the compression.
    """
    peekable = stream if isinstance(stream, PeekableStream) else PeekableStream(stream)
    compression = compression_of_stream(peekable)
    buffered = io.BufferedReader(peekable, CHUNK)
    if compression == "gzip":
        from isal import igzip_threaded
        from isal.igzip_lib import IsalError

        # One thread decompresses ahead while the caller hashes or unpacks.
        reader = igzip_threaded.open(buffered, "rb", threads=1, block_size=CHUNK)  # type: ignore[no-untyped-call]
        errors = (cast(type[Exception], IsalError),)
        return cast(BinaryIO, _Checked(reader, compression, errors))
    if compression == "zstd":
        zstandard = _zstandard()
        reader = zstandard.ZstdDecompressor().stream_reader(
            buffered, read_size=CHUNK, read_across_frames=True
        )
        checked = _Checked(io.BufferedReader(reader, CHUNK), compression, (zstandard.ZstdError,))
        return cast(BinaryIO, checked)
    if compression == "xz":
        import lzma

        return cast(BinaryIO, _Checked(lzma.LZMAFile(buffered), compression, (lzma.LZMAError,)))
    if compression == "bzip2":
        import bz2

        return cast(BinaryIO, bz2.BZ2File(buffered))  # its errors are OSErrors already
    return cast(BinaryIO, buffered)


class _Checked(io.BufferedIOBase):
    """A decompressor's reader whose own error types come out as DecompressionError.

    Reads pass straight through (no buffer of its own: no extra copy).
    """

    def __init__(self, reader: Any, compression: str, errors: tuple[type[Exception], ...]) -> None:
        super().__init__()
        self._reader = reader
        self._compression = compression
        self._errors = errors

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        try:
            return cast(bytes, self._reader.read(size))
        except self._errors as error:
            raise self._corrupt(error) from error

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readinto(self, buffer: Any) -> int:
        try:
            return int(self._reader.readinto(buffer))
        except self._errors as error:
            raise self._corrupt(error) from error

    def readinto1(self, buffer: Any) -> int:
        return self.readinto(buffer)

    def _corrupt(self, error: Exception) -> DecompressionError:
        return DecompressionError(f"corrupt {self._compression} data: {error}")

    def close(self) -> None:
        if not self.closed:
            self._reader.close()
        super().close()


def _zstandard() -> Any:
    try:
        import zstandard
    except ImportError:
        raise DockyardError(
            "zstd-compressed data needs the 'zstandard' Python package", "pip install zstandard"
        ) from None
    return zstandard
