"""The one decompressing reader: compression by content, any stream, uniform errors."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import random
import tarfile

import pytest
import zstandard

from dockyard.compression import (
    DecompressionError,
    PeekableStream,
    compression_of_stream,
    decompressed,
    sniff_compression,
)
from dockyard.solver.fileops.archive import is_archive

# More than a few 1 MiB chunks, cheap to compress: a random run, then repeats of it.
DATA = random.Random(7).randbytes(200_000) * 16 + b"tail"


def _zstd_two_frames(data: bytes) -> bytes:
    compressor = zstandard.ZstdCompressor(write_checksum=True)
    half = len(data) // 2
    return compressor.compress(data[:half]) + compressor.compress(data[half:])


COMPRESSORS = {
    "": lambda data: data,
    "gzip": lambda data: gzip.compress(data, mtime=0),
    # pigz and Go write several members; every one is read.
    "gzip-members": lambda data: gzip.compress(data[:1000]) + gzip.compress(data[1000:]),
    "zstd": _zstd_two_frames,
    "xz": lzma.compress,
    "bzip2": bz2.compress,
}


class Dribble(io.RawIOBase):
    """A pipe-like source: read() only, and the first reads give one byte each."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data = io.BytesIO(data)
        self._reads = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        self._reads += 1
        return self._data.read(1 if self._reads <= 8 else size)

    readinto = None  # type: ignore[assignment]  # like an object that only has read()


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_any_compression_is_read_from_any_stream(kind: str) -> None:
    compressed = COMPRESSORS[kind](DATA)
    assert sniff_compression(compressed[:6]) == kind.partition("-")[0]
    for source in (io.BytesIO(compressed), Dribble(compressed)):
        with decompressed(source) as plain:  # type: ignore[arg-type]
            assert plain.read(10) == DATA[:10]
            assert plain.read() == DATA[10:]
        assert not source.closed  # the caller's stream stays the caller's


def test_the_peeked_bytes_are_not_lost() -> None:
    peekable = PeekableStream(io.BytesIO(b"BZh not really bzip2"))
    assert compression_of_stream(peekable) == "bzip2"
    assert peekable.read(4) == b"BZh "
    assert peekable.read() == b"not really bzip2"
    plain = PeekableStream(io.BytesIO(b"abc"))
    assert compression_of_stream(plain) == ""
    with decompressed(plain) as reader:
        assert reader.read() == b"abc"


@pytest.mark.parametrize("kind", ["gzip", "zstd", "xz", "bzip2"])
def test_corrupt_data_is_an_oserror_and_truncated_data_an_eoferror(kind: str) -> None:
    compressed = COMPRESSORS[kind](DATA)
    middle = len(compressed) // 2
    corrupt = compressed[:middle] + bytes(200) + compressed[middle + 200 :]
    with pytest.raises(OSError), decompressed(io.BytesIO(corrupt)) as reader:
        reader.read()
    if kind != "zstd":  # a zstd frame cut short reads as the data it has (zstandard's choice)
        with pytest.raises(EOFError), decompressed(io.BytesIO(compressed[:-20])) as reader:
            reader.read()


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("gzip", gzip.compress(b"x" * 100_000)[:20] + b"garbage" * 100),
        ("zstd", COMPRESSORS["zstd"](DATA)[:4] + b"\xff" * 8 + COMPRESSORS["zstd"](DATA)[12:]),
        ("xz", lzma.compress(DATA)[:100] + bytes(200) + lzma.compress(DATA)[300:]),
    ],
)
def test_a_decompressors_own_errors_become_decompression_errors(kind: str, data: bytes) -> None:
    with (
        pytest.raises(DecompressionError, match=f"corrupt {kind} data"),
        decompressed(io.BytesIO(data)) as reader,
    ):
        reader.read()


def _tar(name: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("", True), ("gzip", True), ("xz", True), ("bzip2", True), ("zstd", False)],
)
def test_add_unpacks_tar_archives_by_content_not_zstd(
    tmp_path: object, kind: str, expected: bool
) -> None:
    path = tmp_path / "archive.bin"  # type: ignore[operator]
    path.write_bytes(COMPRESSORS[kind](_tar("a.txt")))
    assert is_archive(str(path)) is expected
    path.write_bytes(COMPRESSORS[kind](b"not a tar" * 100))
    assert is_archive(str(path)) is False
