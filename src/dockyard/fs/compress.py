"""Layer blob streams: compression with diff_id + digest in one pass, and detection.

gzip is ISA-L deflate run like pigz: the tar stream is cut into fixed 1 MiB blocks,
each compressed on a thread pool with the previous block's last 32 KiB as its
dictionary and ended with a sync flush; the blocks are concatenated in order into
one gzip member (header without name or time, like Go's). The output depends only
on the input and the level, never on the number of threads, so two writes of the
same tree give the same digest on any machine.
"""

from __future__ import annotations

import hashlib
import io
import struct
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import BinaryIO, Literal

from isal import isal_zlib

from dockyard.digest import Digest
from dockyard.errors import DockyardError
from dockyard.fs.magic import sniff_compression

Compression = Literal["gzip", "zstd", "none"]

MEDIA_TYPE_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
MEDIA_TYPE_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_TYPE_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
MEDIA_TYPES: dict[str, str] = {
    "gzip": MEDIA_TYPE_LAYER_GZIP,
    "zstd": MEDIA_TYPE_LAYER_ZSTD,
    "none": MEDIA_TYPE_LAYER_TAR,
}

CHUNK = 1 << 20  # the gzip block size: part of the output format, never change it
GZIP_LEVEL = 2  # ISA-L's default trade-off between speed and ratio
ZSTD_LEVEL = 3
_WINDOW = 1 << 15
_IN_FLIGHT = 8
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


@dataclass(frozen=True)
class LayerBlob:
    """A written layer blob: what a manifest and an image config need to know."""

    diff_id: Digest  # sha256 of the uncompressed tar
    digest: Digest  # sha256 of the bytes written
    size: int  # number of bytes written
    media_type: str


class _HashingWriter:
    def __init__(self, out: BinaryIO, *, hashing: bool = True) -> None:
        self._out = out
        self.hasher = hashlib.sha256() if hashing else None
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self.hasher is not None:
            self.hasher.update(data)
        self._out.write(data)
        length = memoryview(data).nbytes
        self.size += length
        return length


def _deflate_block(block: bytes, dictionary: bytes, level: int) -> tuple[bytes, int]:
    if dictionary:
        compressor = isal_zlib.compressobj(
            level, isal_zlib.DEFLATED, -15, 9, isal_zlib.Z_DEFAULT_STRATEGY, dictionary
        )
    else:
        compressor = isal_zlib.compressobj(level, isal_zlib.DEFLATED, -15)
    data = compressor.compress(block) + compressor.flush(isal_zlib.Z_SYNC_FLUSH)
    return data, isal_zlib.crc32(block)


class LayerSink:
    """Takes the uncompressed tar stream; writes the compressed blob to ``out``.

    Write with :meth:`write`, or read file data straight into :meth:`buffer` and
    account for it with :meth:`commit`; then :meth:`close` gives the result. Full
    1 MiB chunks go to worker threads: two deflate chunks (gzip), one hashes the
    uncompressed stream and writes the output in order, so reading files, hashing
    and compressing overlap. At most a few chunks are in flight: memory stays flat.
    """

    def __init__(self, out: BinaryIO, compression: Compression = "gzip") -> None:
        if compression not in MEDIA_TYPES:
            raise ValueError(f"unknown compression {compression!r}")
        self.compression = compression
        # Without compression the blob is the tar: its digest is the diff_id.
        self._out = _HashingWriter(out, hashing=compression != "none")
        self._diff = hashlib.sha256()
        self._chunk = bytearray(CHUNK)
        self._view = memoryview(self._chunk)
        self._fill = 0
        self._total = 0
        self._previous = b""
        self._crc = 0
        self._tasks: deque[Future[None]] = deque()
        self._ordered: ThreadPoolExecutor | None = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="dockyard-layer"
        )
        self._deflaters: ThreadPoolExecutor | None = None
        self._zstd: _ZstdWriter | None = None
        if compression == "gzip":
            self._deflaters = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dockyard-gzip")
            self._out.write(_GZIP_HEADER)
        elif compression == "zstd":
            self._zstd = _ZstdWriter(self._out)

    def buffer(self) -> memoryview:
        """The free space of the current chunk (never empty)."""
        return self._view[self._fill :]

    def commit(self, count: int) -> None:
        """``count`` bytes were written into :meth:`buffer`."""
        self._fill += count
        if self._fill == CHUNK:
            self._emit()

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            take = min(len(view), CHUNK - self._fill)
            self._view[self._fill : self._fill + take] = view[:take]
            view = view[take:]
            self.commit(take)

    def _emit(self) -> None:
        block = bytes(self._view[: self._fill])
        self._fill = 0
        self._total += len(block)
        deflated: Future[tuple[bytes, int]] | None = None
        if self._deflaters is not None:
            dictionary = self._previous[-_WINDOW:]
            deflated = self._deflaters.submit(_deflate_block, block, dictionary, GZIP_LEVEL)
            self._previous = block
        assert self._ordered is not None
        self._tasks.append(self._ordered.submit(self._finish_block, block, deflated))
        while len(self._tasks) > _IN_FLIGHT:
            self._tasks.popleft().result()

    def _finish_block(self, block: bytes, deflated: Future[tuple[bytes, int]] | None) -> None:
        """On the ordered thread: hash the tar bytes, write the output, in stream order."""
        self._diff.update(block)
        if deflated is not None:
            compressed, crc = deflated.result()
            self._crc = isal_zlib.crc32_combine(self._crc, crc, len(block))
            self._out.write(compressed)
        elif self._zstd is not None:
            self._zstd.write(block)
        else:
            self._out.write(block)

    def close(self) -> LayerBlob:
        try:
            if self._fill:
                self._emit()
            while self._tasks:
                self._tasks.popleft().result()
            if self._deflaters is not None:
                self._out.write(isal_zlib.compress(b"", wbits=-15))
                self._out.write(struct.pack("<II", self._crc, self._total & 0xFFFFFFFF))
            elif self._zstd is not None:
                self._zstd.close()
        finally:
            self.abort()
        diff_id = Digest.from_hasher(self._diff)
        hasher = self._out.hasher
        return LayerBlob(
            diff_id=diff_id,
            digest=diff_id if hasher is None else Digest.from_hasher(hasher),
            size=self._out.size,
            media_type=MEDIA_TYPES[self.compression],
        )

    def abort(self) -> None:
        """Stop the worker threads (also after an error: pending work is dropped)."""
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        for pool in (self._deflaters, self._ordered):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self._deflaters = self._ordered = None


class _ZstdWriter:
    def __init__(self, out: _HashingWriter) -> None:
        zstandard = _zstandard()
        compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
        self._writer = compressor.stream_writer(out, closefd=False)

    def write(self, data: bytes) -> None:
        self._writer.write(data)

    def close(self) -> None:
        self._writer.close()


def _zstandard() -> ModuleType:
    try:
        import zstandard
    except ImportError:
        raise DockyardError(
            "zstd compression needs the 'zstandard' package", "pip install zstandard"
        ) from None
    return zstandard


def compress_tar(
    tar_stream: BinaryIO, out: BinaryIO, *, compression: Compression = "gzip"
) -> LayerBlob:
    """Compress an existing uncompressed tar stream into a layer blob (one pass)."""
    sink = LayerSink(out, compression)
    readinto = getattr(tar_stream, "readinto", None)
    try:
        while True:
            buffer = sink.buffer()
            if readinto is not None:
                count = readinto(buffer)
            else:
                data = tar_stream.read(len(buffer))
                count = len(data)
                buffer[:count] = data
            if not count:
                break
            sink.commit(count)
    except BaseException:
        sink.abort()
        raise
    return sink.close()


def open_layer(stream: BinaryIO) -> BinaryIO:
    """An uncompressed view of a layer blob: gzip, zstd or plain tar, by magic bytes."""
    buffered = io.BufferedReader(_Borrowed(stream), CHUNK)
    compression = sniff_compression(buffered.peek(4)[:4])
    if compression == "gzip":
        from isal import igzip_threaded

        return igzip_threaded.open(  # type: ignore[no-any-return,no-untyped-call]
            buffered, "rb", threads=1, block_size=CHUNK
        )
    if compression == "zstd":
        decompressor = _zstandard().ZstdDecompressor()
        reader = decompressor.stream_reader(buffered, read_size=CHUNK, read_across_frames=True)
        return io.BufferedReader(reader, CHUNK)
    return buffered


class _Borrowed(io.RawIOBase):
    """A raw view of a stream that the caller keeps: closing it leaves the stream open."""

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        reader = getattr(self._stream, "readinto", None)
        if reader is not None:
            return int(reader(buffer))
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
