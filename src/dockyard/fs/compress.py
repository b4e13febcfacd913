"""Layer blob streams: compression with diff_id + digest in one pass.

Reading blobs back (any compression, by content) is ``dockyard.compression.decompressed``.

gzip is ISA-L deflate run like pigz: the tar stream is cut into fixed 1 MiB blocks,
each compressed on a thread pool with the previous block's last 32 KiB as its
dictionary and ended with a sync flush; the blocks are concatenated in order into
one gzip member (header without name or time, like Go's). The output depends only
on the input and the level, never on the number of threads, so two writes of the
same tree give the same digest on any machine. A layer of one block (the usual
small COPY) is compressed on the calling thread: starting threads would cost more.

A block that deflate would not shrink (already compressed or random data) is not
deflated but *stored*: deflate's stored blocks (a 0x00 header byte -- we are byte
aligned after the previous sync flush --, LEN and NLEN, then up to 65,535 bytes as
they are). The rule, part of the output format like CHUNK: four samples of the block
(SAMPLE bytes each, or what is left, starting at 0, 1/4, 1/2 and 3/4 of its length)
are deflated one by one at GZIP_LEVEL without a dictionary; when together they shrink
by less than 1/STORE_BELOW of their size, the block is stored. The samples cost a
sixteenth of deflating the block; the stream stays one gzip member any reader takes.
Below 1/16, deflate would mostly be squeezing tar headers and padding between
incompressible file data (a tar of 20 KB random files saves 2.5-4.5 %), at about a
millisecond of CPU per MiB.
"""

from __future__ import annotations

import hashlib
import struct
from collections import deque
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, BinaryIO, Literal, Protocol, runtime_checkable

from isal import isal_zlib

from dockyard.digest import Digest
from dockyard.errors import DockyardError

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

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
SAMPLE = 16 << 10  # the stored-block rule (module docstring): part of the output format
STORE_BELOW = 16
_WINDOW = 1 << 15
_STORED_MAX = 0xFFFF  # the most bytes one stored block holds
_IN_FLIGHT = 12  # chunks being hashed, compressed or written at once
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters


@dataclass(frozen=True)
class LayerBlob:
    """A written layer blob: what a manifest and an image config need to know."""

    diff_id: Digest  # sha256 of the uncompressed tar
    digest: Digest  # sha256 of the bytes written
    size: int  # number of bytes written
    media_type: str


@runtime_checkable
class DigestingOutput(Protocol):
    """An output that digests what is written to it, like the store's blob writer.

    A sink that writes such an output from its first byte takes the output's digest
    instead of hashing the compressed stream a second time.
    """

    size: int  # bytes written so far

    @property
    def digest(self) -> Digest: ...


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


def _deflate_block(
    block: memoryview, dictionary: bytes, level: int
) -> tuple[list[bytes | memoryview], int]:
    """One block of the gzip member: (its pieces, in order; crc32 of ``block``).

    A block that would not shrink is stored (module docstring); its pieces are then
    views of ``block`` between the stored blocks' headers.
    """
    crc = isal_zlib.crc32(block)
    if _incompressible(block, level):
        return _stored(block), crc
    if dictionary:
        compressor = isal_zlib.compressobj(
            level, isal_zlib.DEFLATED, -15, 9, isal_zlib.Z_DEFAULT_STRATEGY, dictionary
        )
    else:
        compressor = isal_zlib.compressobj(level, isal_zlib.DEFLATED, -15)
    data = compressor.compress(block)
    return [data, compressor.flush(isal_zlib.Z_SYNC_FLUSH)], crc


def _incompressible(block: memoryview, level: int) -> bool:
    """The stored-block rule: four samples deflated alone shrink by less than 1/STORE_BELOW."""
    length = len(block)
    sampled = deflated = 0
    for quarter in range(4):
        start = quarter * length // 4
        sample = block[start : start + SAMPLE]
        sampled += len(sample)
        deflated += len(isal_zlib.compress(sample, level, wbits=-15))
    return deflated * STORE_BELOW > sampled * (STORE_BELOW - 1)


def _stored(block: memoryview) -> list[bytes | memoryview]:
    """``block`` as deflate stored blocks (not final), starting on a byte boundary."""
    pieces: list[bytes | memoryview] = []
    for start in range(0, len(block), _STORED_MAX):
        piece = block[start : start + _STORED_MAX]
        size = len(piece)
        pieces.append(struct.pack("<BHH", 0, size, size ^ 0xFFFF))
        pieces.append(piece)
    return pieces


# A chunk handed to the workers, with the two jobs that read it: once both are
# done, the chunk is free to be filled again.
_InFlight = tuple[bytearray, "Future[None]", "Future[object]"]


class LayerSink:
    """Takes the uncompressed tar stream; writes the compressed blob to ``out``.

    Write with :meth:`write`, or read file data straight into :meth:`buffer` and
    account for it with :meth:`commit`; then :meth:`close` gives the result. Each
    full 1 MiB chunk is handed, without a copy, to three kinds of worker threads:
    one hashes the uncompressed stream (the diff_id), two deflate chunks (gzip), and
    one writes the output in order (hashing it for the digest, unless the output is a
    :class:`DigestingOutput`). So reading files, hashing and compressing overlap. A
    fixed pool of chunks is recycled once their jobs are done: memory stays flat, and
    no chunk is allocated per block. The threads start with the first full chunk: a
    shorter stream needs none.
    """

    def __init__(self, out: BinaryIO, compression: Compression = "gzip") -> None:
        if compression not in MEDIA_TYPES:
            raise ValueError(f"unknown compression {compression!r}")
        self.compression = compression
        # Without compression the blob is the tar: its digest is the diff_id. An
        # output that digests what it gets needs no second hash either.
        self._digesting: DigestingOutput | None = None
        if isinstance(out, DigestingOutput) and out.size == 0:
            self._digesting = out
        hashing = compression != "none" and self._digesting is None
        self._out = _HashingWriter(out, hashing=hashing)
        self._diff = hashlib.sha256()
        self._chunk = bytearray(CHUNK)
        self._view = memoryview(self._chunk)
        self._fill = 0
        self._total = 0
        self._dictionary = b""
        self._crc = 0
        self._in_flight: deque[_InFlight] = deque()
        self._hasher: ThreadPoolExecutor | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._deflaters: ThreadPoolExecutor | None = None
        self._zstd: _ZstdWriter | None = None
        if compression == "gzip":
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

    def write(self, data: bytes | bytearray | memoryview) -> None:
        fill = self._fill
        length = len(data)
        if fill + length < CHUNK:  # the common case: a header or padding
            self._view[fill : fill + length] = data
            self._fill = fill + length
            return
        view = memoryview(data)
        while view:
            take = min(len(view), CHUNK - self._fill)
            self._view[self._fill : self._fill + take] = view[:take]
            view = view[take:]
            self.commit(take)

    def _emit(self, last: bool = False) -> None:
        """Hand the current chunk to the workers and (unless ``last``) take a free one."""
        if self._hasher is None:
            self._start_threads()
        assert self._hasher is not None and self._writer is not None
        block = self._view[: self._fill]
        self._total += self._fill
        hashed = self._hasher.submit(self._diff.update, block)
        if self._deflaters is not None:
            deflated = self._deflaters.submit(_deflate_block, block, self._dictionary, GZIP_LEVEL)
            self._dictionary = bytes(block[-_WINDOW:])
            written: Future[object] = self._writer.submit(
                self._write_deflated, deflated, len(block)
            )
        elif self._zstd is not None:
            written = self._writer.submit(self._zstd.write, block)
        else:
            written = self._writer.submit(self._out.write, block)
        self._in_flight.append((self._chunk, hashed, written))
        if last:
            return
        self._chunk = self._next_chunk()
        self._view = memoryview(self._chunk)
        self._fill = 0

    def _start_threads(self) -> None:
        from concurrent.futures import ThreadPoolExecutor  # only for streams of 1 MiB or more

        if self.compression == "gzip":
            _keep_freed_memory()

        self._hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dockyard-layer-hash")
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dockyard-layer-write")
        if self.compression == "gzip":
            self._deflaters = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dockyard-gzip")

    def _finish_alone(self) -> None:
        """The whole stream is the current chunk: hash, compress and write it here."""
        block = self._view[: self._fill]
        self._total += self._fill
        self._diff.update(block)
        if self.compression == "gzip":
            pieces, self._crc = _deflate_block(block, b"", GZIP_LEVEL)
            for piece in pieces:
                self._out.write(piece)
        elif self._zstd is not None:
            self._zstd.write(block)
        else:
            self._out.write(block)

    def _next_chunk(self) -> bytearray:
        """A new chunk until _IN_FLIGHT are out; then the oldest, once its jobs are done."""
        if len(self._in_flight) < _IN_FLIGHT:
            return bytearray(CHUNK)
        chunk, hashed, written = self._in_flight.popleft()
        hashed.result()
        written.result()
        return chunk

    def _write_deflated(
        self, deflated: Future[tuple[list[bytes | memoryview], int]], length: int
    ) -> None:
        """On the writer thread, in stream order: one block of the gzip member."""
        pieces, crc = deflated.result()
        self._crc = isal_zlib.crc32_combine(self._crc, crc, length)
        for piece in pieces:
            self._out.write(piece)

    def close(self) -> LayerBlob:
        try:
            if self._fill and self._hasher is None:
                self._finish_alone()
            elif self._fill:
                self._emit(last=True)
            while self._in_flight:
                _, hashed, written = self._in_flight.popleft()
                hashed.result()
                written.result()
            if self.compression == "gzip":
                self._out.write(isal_zlib.compress(b"", wbits=-15))
                self._out.write(struct.pack("<II", self._crc, self._total & 0xFFFFFFFF))
            elif self._zstd is not None:
                self._zstd.close()
        finally:
            self.abort()
        diff_id = Digest.from_hasher(self._diff)
        if self._out.hasher is not None:
            digest = Digest.from_hasher(self._out.hasher)
        elif self.compression != "none" and self._digesting is not None:
            digest = self._digesting.digest
        else:
            digest = diff_id
        return LayerBlob(
            diff_id=diff_id,
            digest=digest,
            size=self._out.size,
            media_type=MEDIA_TYPES[self.compression],
        )

    def abort(self) -> None:
        """Stop the worker threads (also after an error: pending work is dropped)."""
        for _, hashed, written in self._in_flight:
            hashed.cancel()
            written.cancel()
        self._in_flight.clear()
        for pool in (self._deflaters, self._hasher, self._writer):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self._deflaters = self._hasher = self._writer = None


_allocator_tuned = False


def _keep_freed_memory() -> None:
    """Let glibc keep the memory a gzip layer write frees and asks for again at once.

    Each block allocates a compressor and an output of about a MiB and frees them a
    moment later. By default glibc hands such blocks back to the kernel (munmap, heap
    trimming), and touching them again costs a page fault per 4 KiB: ~10 % of the CPU
    time of a layer write. With these settings, blocks under 4 MiB come from the heap
    and up to 16 MiB of free heap stays mapped. Process-wide, once; not on other libcs.
    """
    global _allocator_tuned
    if _allocator_tuned:
        return
    _allocator_tuned = True
    import ctypes

    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, 4 << 20)
        mallopt(_M_TRIM_THRESHOLD, 16 << 20)


class _ZstdWriter:
    def __init__(self, out: _HashingWriter) -> None:
        zstandard = _zstandard()
        compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
        self._writer = compressor.stream_writer(out, closefd=False)

    def write(self, data: bytes | memoryview) -> None:
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
