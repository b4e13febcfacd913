"""The hand-written tar headers: what USTAR cannot hold goes to PAX, and reads back."""

from __future__ import annotations

import io
import tarfile

import pytest

from dockyard.errors import UnpackError
from dockyard.fs.tarformat import (
    END_OF_ARCHIVE,
    REGULAR,
    SYMLINK,
    TarReader,
    _pax_record,
    encode_header,
)


def _read_back(header: bytes) -> tarfile.TarInfo:
    with tarfile.open(fileobj=io.BytesIO(header + END_OF_ARCHIVE)) as archive:
        return archive.next()  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("fields", "pax_expected"),
    [
        ({"uid": 3_000_000, "gid": 4_000_000}, True),  # beyond 7 octal digits
        ({"uid": 2_097_151, "gid": 65534}, False),
        ({"mtime": 2**34}, True),  # beyond 11 octal digits
    ],
)
def test_numbers_beyond_octal_fields_go_to_pax(fields: dict[str, int], pax_expected: bool) -> None:
    values = {"mode": 0o644, "uid": 0, "gid": 0, "mtime": 0, **fields}
    header = encode_header(b"file", REGULAR, **values)
    assert (len(header) > 512) == pax_expected
    expected = (values["uid"], values["gid"], values["mtime"])
    info = _read_back(header)
    assert (info.uid, info.gid, int(info.mtime)) == expected
    member = TarReader(io.BytesIO(header + END_OF_ARCHIVE)).next()  # type: ignore[arg-type]
    assert member is not None
    assert (member.uid, member.gid, int(member.mtime)) == (
        values["uid"],
        values["gid"],
        values["mtime"],
    )


def test_size_beyond_8_gib_goes_to_pax_and_reads_back() -> None:
    size = 9 << 30
    header = encode_header(b"huge", REGULAR, mode=0o644, uid=0, gid=0, mtime=0, size=size)
    assert b" size=9663676416\n" in header
    member = TarReader(io.BytesIO(header)).next()  # type: ignore[arg-type]
    assert member is not None and member.size == size


def test_long_names_split_into_prefix_or_go_to_pax_like_go() -> None:
    splittable = ("d" * 90 + "/") * 2 + "name"  # 186 bytes, fits prefix(155)/name(100)
    header = encode_header(splittable.encode(), REGULAR, mode=0, uid=0, gid=0, mtime=0)
    assert len(header) == 512
    assert _read_back(header).name == splittable
    unsplittable = "x" * 120
    header = encode_header(unsplittable.encode(), REGULAR, mode=0, uid=0, gid=0, mtime=0)
    assert header[:14] == b"PaxHeaders.0/x"  # Go's name for the extended header
    assert _read_back(header).name == unsplittable
    target = "t/" * 80
    header = encode_header(b"link", SYMLINK, mode=0o777, uid=0, gid=0, mtime=0,
                           linkname=target.encode())  # fmt: skip
    assert _read_back(header).linkname == target


@pytest.mark.parametrize("length", [1, 2, 5, 6, 7, 90, 91, 92, 93, 994, 995, 996, 997])
def test_pax_record_lengths_count_themselves(length: int) -> None:
    record = _pax_record(b"k", b"v" * length)
    announced, _, rest = record.partition(b" ")
    assert int(announced) == len(record) and rest.endswith(b"\n")


def test_bad_checksum_is_refused() -> None:
    header = bytearray(encode_header(b"file", REGULAR, mode=0, uid=0, gid=0, mtime=0))
    header[0] = ord("g")
    with pytest.raises(UnpackError, match="checksum"):
        TarReader(io.BytesIO(bytes(header))).next()  # type: ignore[arg-type]
