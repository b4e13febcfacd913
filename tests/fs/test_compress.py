"""The layer sink: its output is exactly the documented block format, however it is fed."""

from __future__ import annotations

import gzip
import hashlib
import io
import random
import struct
import subprocess
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from isal import isal_zlib

from dockyard.compression import decompressed
from dockyard.digest import Digest
from dockyard.fs import compress_tar
from dockyard.fs.compress import (
    CHUNK,
    GZIP_LEVEL,
    SAMPLE,
    STORE_BELOW,
    DigestingOutput,
    LayerSink,
)
from dockyard.store import Store

# More chunks than the sink keeps in flight, so that chunks are recycled.
STREAM_SIZE = 20 * CHUNK + 12_345


def _stream(size: int) -> bytes:
    """Compressible and incompressible runs, like a tar of mixed files."""
    rng = random.Random(size)
    text = b"".join(b"line %d of some text\n" % number for number in range(20_000))
    parts, total = [], 0
    while total < size:
        if rng.random() < 0.5:
            part = rng.randbytes(rng.randint(1, 300_000))
        else:
            start = rng.randrange(len(text))
            part = text[start : start + rng.randint(1, 400_000)]
        parts.append(part)
        total += len(part)
    return b"".join(parts)[:size]


def _reference_stored(block: bytes) -> bool:
    """The stored-block rule of the module docstring, spelled out."""
    samples = [block[q * len(block) // 4 :][:SAMPLE] for q in range(4)]
    sampled = sum(len(sample) for sample in samples)
    deflated = sum(len(isal_zlib.compress(sample, GZIP_LEVEL, wbits=-15)) for sample in samples)
    return sampled - deflated < sampled / STORE_BELOW


def _reference_gzip(data: bytes) -> bytes:
    """The format of the module docstring, spelled out one block at a time."""
    out = [b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"]
    previous = b""
    for start in range(0, len(data), CHUNK):
        block = data[start : start + CHUNK]
        if _reference_stored(block):
            for offset in range(0, len(block), 65535):
                piece = block[offset : offset + 65535]
                out.append(b"\x00" + struct.pack("<HH", len(piece), 0xFFFF - len(piece)) + piece)
            previous = block
            continue
        if previous:
            compressor = isal_zlib.compressobj(
                GZIP_LEVEL, isal_zlib.DEFLATED, -15, 9, isal_zlib.Z_DEFAULT_STRATEGY,
                previous[-(1 << 15) :],
            )  # fmt: skip
        else:
            compressor = isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, -15)
        out.append(compressor.compress(block) + compressor.flush(isal_zlib.Z_SYNC_FLUSH))
        previous = block
    out.append(isal_zlib.compress(b"", wbits=-15))
    out.append(struct.pack("<II", isal_zlib.crc32(data), len(data) & 0xFFFFFFFF))
    return b"".join(out)


def _pieces(data: bytes, seed: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    position = 0
    while position < len(data):
        size = rng.choice([1, 511, 512, 4096, 70_000, CHUNK - 1, CHUNK, 3 * CHUNK + 7])
        yield data[position : position + size]
        position += size


def _feed(sink: LayerSink, data: bytes, seed: int) -> None:
    """Alternate write() and buffer()/commit(), in pieces of awkward sizes."""
    for index, piece in enumerate(_pieces(data, seed)):
        if index % 2:
            sink.write(piece)
            continue
        view = memoryview(piece)
        while view:
            buffer = sink.buffer()
            count = min(len(buffer), len(view))
            buffer[:count] = view[:count]
            sink.commit(count)
            view = view[count:]


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, STREAM_SIZE])
def test_gzip_output_is_the_block_format_byte_for_byte(size: int) -> None:
    data = _stream(size)
    out = io.BytesIO()
    sink = LayerSink(out, "gzip")
    _feed(sink, data, seed=size)
    blob = sink.close()
    expected = _reference_gzip(data)
    assert out.getvalue() == expected
    assert blob.digest == Digest.of_bytes(expected)
    assert blob.diff_id == Digest.of_bytes(data)
    assert blob.size == len(expected)


@pytest.mark.parametrize("compression", ["none", "zstd"])
def test_other_compressions_keep_every_byte_in_order(compression: str) -> None:
    data = _stream(STREAM_SIZE)
    out = io.BytesIO()
    sink = LayerSink(out, compression)  # type: ignore[arg-type]
    _feed(sink, data, seed=7)
    blob = sink.close()
    assert blob.diff_id == Digest.of_bytes(data)
    assert blob.digest == Digest.of_bytes(out.getvalue())
    out.seek(0)
    with decompressed(out) as plain:
        assert plain.read() == data


def test_compress_tar_reads_a_stream_without_readinto() -> None:
    data = _stream(3 * CHUNK + 5)

    class ReadOnly:  # a pipe-like object: read() only
        def __init__(self) -> None:
            self._data = io.BytesIO(data)

        def read(self, size: int = -1) -> bytes:
            return self._data.read(size)

    out = io.BytesIO()
    blob = compress_tar(ReadOnly(), out)  # type: ignore[arg-type]
    assert out.getvalue() == _reference_gzip(data)
    assert blob.diff_id.hex == hashlib.sha256(data).hexdigest()


class _FailingOutput(io.RawIOBase):
    def __init__(self, fail_after: int) -> None:
        super().__init__()
        self._left = fail_after

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        length = memoryview(data).nbytes  # type: ignore[arg-type]
        if self._left < length:
            raise OSError(28, "No space left on device")
        self._left -= length
        return length


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_a_failing_output_raises_and_leaves_no_thread(compression: str) -> None:
    before = set(threading.enumerate())
    sink = LayerSink(_FailingOutput(3 * CHUNK), compression)  # type: ignore[arg-type]
    with pytest.raises(OSError, match="No space left"):
        try:
            _feed(sink, _stream(STREAM_SIZE), seed=3)
            sink.close()
        except BaseException:
            sink.abort()
            raise
    assert set(threading.enumerate()) <= before


def test_a_stream_of_less_than_a_chunk_starts_no_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    import concurrent.futures

    def no_threads(*args: object, **kwargs: object) -> None:
        raise AssertionError("a thread pool for a one-block stream")

    monkeypatch.setattr(concurrent.futures, "ThreadPoolExecutor", no_threads)
    data = _stream(CHUNK - 1)
    out = io.BytesIO()
    sink = LayerSink(out, "gzip")
    _feed(sink, data, seed=1)
    sink.close()
    assert out.getvalue() == _reference_gzip(data)


class _DigestingOutput(io.RawIOBase):
    """Digests what it is given, as the store's blob writer does."""

    def __init__(self, prefix: bytes = b"") -> None:
        super().__init__()
        self.hasher = hashlib.sha256()
        self.data = bytearray()
        self.size = 0
        self.write(prefix)

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        view = memoryview(data)  # type: ignore[arg-type]
        self.hasher.update(view)
        self.data += view
        self.size += view.nbytes
        return view.nbytes

    @property
    def digest(self) -> Digest:
        return Digest.from_hasher(self.hasher)


@pytest.mark.parametrize("prefix", [b"", b"bytes written before the sink"])
def test_an_output_that_digests_is_trusted_only_from_its_first_byte(prefix: bytes) -> None:
    data = _stream(3 * CHUNK + 99)
    out = _DigestingOutput(prefix)
    sink = LayerSink(out, "gzip")  # type: ignore[arg-type]
    _feed(sink, data, seed=11)
    blob = sink.close()
    expected = _reference_gzip(data)
    assert bytes(out.data) == prefix + expected
    assert blob.digest == Digest.of_bytes(expected)
    assert blob.size == len(expected)


def test_the_stores_layer_writer_is_trusted_and_agrees(tmp_path: Path) -> None:
    data = _stream(2 * CHUNK + 1)
    with Store.open(tmp_path / "store") as store, store.layer_writer() as writer:
        assert isinstance(writer.stream, DigestingOutput)
        blob = compress_tar(io.BytesIO(data), writer.stream)
        layer = writer.commit(blob.diff_id)
        assert layer.digest == blob.digest == Digest.of_bytes(_reference_gzip(data))
        assert layer.descriptor.size == blob.size


def _stored_size(length: int) -> int:
    """A gzip member of ``length`` bytes stored in one block: header, stored blocks, end."""
    return 10 + length + 5 * -(-length // 65535) + 2 + 8


def test_incompressible_blocks_are_stored_and_the_member_stays_valid(tmp_path: Path) -> None:
    rng = random.Random(9)
    text = b"".join(b"line %d of some text\n" % number for number in range(60_000))
    blocks = [rng.randbytes(CHUNK), text[:CHUNK], rng.randbytes(CHUNK), rng.randbytes(CHUNK)]
    data = b"".join(blocks) + text[CHUNK : 2 * CHUNK] + rng.randbytes(CHUNK // 3)
    assert [_reference_stored(block) for block in blocks] == [True, False, True, True]
    out = io.BytesIO()
    sink = LayerSink(out, "gzip")
    _feed(sink, data, seed=5)
    blob = sink.close()
    member = out.getvalue()
    assert member == _reference_gzip(data)
    assert blob.digest == Digest.of_bytes(member)
    assert gzip.decompress(member) == data
    reader = zlib.decompressobj(31)
    assert reader.decompress(member) == data and reader.eof and not reader.unused_data
    path = tmp_path / "blob.gz"
    path.write_bytes(member)
    subprocess.run(["gzip", "-t", str(path)], check=True)
    assert subprocess.run(["zcat", str(path)], capture_output=True, check=True).stdout == data


def test_a_random_block_costs_only_the_stored_headers() -> None:
    data = random.Random(2).randbytes(CHUNK + 1)  # a full block, then a one-byte block
    out = io.BytesIO()
    sink = LayerSink(out, "gzip")
    sink.write(data)
    sink.close()
    assert len(out.getvalue()) == _stored_size(CHUNK) + 5 + 1
    assert gzip.decompress(out.getvalue()) == data


def _zero_prefixed(zeros: int) -> bytes:
    block = bytearray(random.Random(1).randbytes(CHUNK))
    block[:zeros] = bytes(zeros)
    return bytes(block)


def _sample_sizes(block: bytes) -> tuple[int, int]:
    samples = [block[q * len(block) // 4 :][:SAMPLE] for q in range(4)]
    deflated = sum(len(isal_zlib.compress(sample, GZIP_LEVEL, wbits=-15)) for sample in samples)
    return sum(map(len, samples)), deflated


def test_a_block_exactly_at_the_threshold_is_deflated() -> None:
    """Saving exactly 1/STORE_BELOW deflates; one byte less saving stores."""
    low, high = 0, SAMPLE  # zeros at the start of the first sample: ~1 byte saved each
    while low < high:  # the fewest zeros that save at least 1/STORE_BELOW
        middle = (low + high) // 2
        sampled, deflated = _sample_sizes(_zero_prefixed(middle))
        if (sampled - deflated) * STORE_BELOW >= sampled:
            high = middle
        else:
            low = middle + 1
    sampled, deflated = _sample_sizes(_zero_prefixed(low))
    if (sampled - deflated) * STORE_BELOW != sampled:
        pytest.skip("this ISA-L version saves more than one byte per zero here")
    for zeros, stored in ((low, False), (low - 1, True)):
        data = _zero_prefixed(zeros)
        out = io.BytesIO()
        sink = LayerSink(out, "gzip")
        sink.write(data)
        sink.close()
        assert out.getvalue() == _reference_gzip(data)
        assert (len(out.getvalue()) == _stored_size(CHUNK)) is stored
        assert gzip.decompress(out.getvalue()) == data


def test_tar_reads_a_layer_of_stored_and_deflated_blocks(tmp_path: Path) -> None:
    import tarfile

    rng = random.Random(3)
    contents = {f"f{index}": rng.randbytes(CHUNK // 2) for index in range(5)}
    contents["text"] = b"some text\n" * 300_000
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, body in contents.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    path = tmp_path / "layer.tar.gz"
    with path.open("wb") as out:
        compress_tar(io.BytesIO(plain.getvalue()), out)
    listed = subprocess.run(["tar", "tzf", str(path)], capture_output=True, check=True, text=True)
    assert listed.stdout.split() == list(contents)
    with tarfile.open(path, "r:gz") as tar:
        for name, body in contents.items():
            member = tar.extractfile(name)
            assert member is not None and member.read() == body
