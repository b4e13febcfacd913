"""The tar format, written and read by hand: USTAR headers, PAX records, GNU long names.

``tarfile`` costs tens of microseconds per member and copies its read buffer on
every header; a layer of 20,000 files spends most of its time there. The subset
here is what layers need. Headers are written like Go's ``archive/tar`` (which
BuildKit uses): USTAR when the fields fit (a long name may be split into the
``prefix`` field), otherwise a PAX extended header named ``DIR/PaxHeaders.0/BASE``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import BinaryIO
from zlib import adler32

from dockyard.errors import UnpackError

BLOCK = 512
END_OF_ARCHIVE = b"\0" * (2 * BLOCK)

REGULAR = b"0"
HARDLINK = b"1"
SYMLINK = b"2"
CHARDEV = b"3"
BLOCKDEV = b"4"
DIRECTORY = b"5"
FIFO = b"6"
_CONTIGUOUS = b"7"
_PAX_LOCAL = b"x"
_PAX_GLOBAL = b"g"
_GNU_LONGNAME = b"L"
_GNU_LONGLINK = b"K"

XATTR_PREFIX = "SCHILY.xattr."

_NAME_SIZE = 100
_PREFIX_SIZE = 155
_USTAR = struct.Struct("100s8s8s8s12s12s8s1s100s6s2s32s32s8s8s155s12x")
# The same block with mode..checksum as one field and magic..gname as a constant.
_USTAR_FAST = struct.Struct("100s56s1s100s8s64x16s155s12x")
_MAGIC = b"ustar\x0000"
_NUMBERS = b"%07o\0%07o\0%07o\0%011o\0%011o\0        "
_DEVICES = b"%07o\0%07o\0"
_MAX_OCTAL_7 = 0o7777777
_MAX_OCTAL_11 = 0o77777777777


def _octal(value: int, width: int) -> bytes:
    return b"%0*o\0" % (width - 1, value)


def _pax_record(key: bytes, value: bytes) -> bytes:
    body = b" " + key + b"=" + value + b"\n"
    length = len(body) + 1
    while len(str(length).encode()) + len(body) != length:
        length += 1
    return str(length).encode() + body


def _split_ustar(name: bytes) -> tuple[bytes, bytes] | None:
    """Go's splitUSTARPath: (prefix, suffix) when ``name`` fits USTAR split at a '/'."""
    length = len(name)
    if length <= _NAME_SIZE or not name.isascii():
        return None
    if length > _PREFIX_SIZE + 1:
        length = _PREFIX_SIZE + 1
    elif name[length - 1 : length] == b"/":
        length -= 1
    slash = name.rfind(b"/", 0, length)
    suffix_len = len(name) - slash - 1
    if slash <= 0 or suffix_len > _NAME_SIZE or suffix_len == 0 or slash > _PREFIX_SIZE:
        return None
    return name[:slash], name[slash + 1 :]


def _raw_block(name: bytes, typeflag: bytes, size: int, mode: int, uid: int, gid: int,
               mtime: int, linkname: bytes, devmajor: int, devminor: int,
               prefix: bytes) -> bytes:  # fmt: skip
    if mode > _MAX_OCTAL_7 or devmajor > _MAX_OCTAL_7 or devminor > _MAX_OCTAL_7:
        return _raw_block_by_field(name, typeflag, size, mode, uid, gid, mtime, linkname,
                                   devmajor, devminor, prefix)  # fmt: skip
    # One formatting call for the contiguous numeric fields (the per-entry cost of a
    # 20,000-file layer), the checksum field still blank.
    numbers = _NUMBERS % (mode, uid, gid, size, mtime)
    devices = _DEVICES % (devmajor, devminor)
    header = _USTAR_FAST.pack(name, numbers, typeflag, linkname, _MAGIC, devices, prefix)
    return header[:148] + b"%06o\0 " % _byte_sum(header) + header[156:]


def _raw_block_by_field(name: bytes, typeflag: bytes, size: int, mode: int, uid: int, gid: int,
                        mtime: int, linkname: bytes, devmajor: int, devminor: int,
                        prefix: bytes) -> bytes:  # fmt: skip
    header = _USTAR.pack(
        name, _octal(mode, 8), _octal(uid, 8), _octal(gid, 8), _octal(size, 12),
        _octal(mtime, 12), b"        ", typeflag, linkname, b"ustar\0", b"00", b"", b"",
        _octal(devmajor, 8), _octal(devminor, 8), prefix,
    )  # fmt: skip
    return header[:148] + b"%06o\0 " % _byte_sum(header) + header[156:]


def _byte_sum(block: bytes) -> int:
    """The sum of the bytes of a 512-byte block, at C speed.

    Adler-32's first half is 1 + the byte sum modulo 65521; a 256-byte half sums to
    at most 65280, so two halves give the exact sum.
    """
    return adler32(block[:256]) % 65536 + adler32(block[256:]) % 65536 - 2


def padding(size: int) -> bytes:
    """Zero bytes that round ``size`` up to a whole block."""
    return b"\0" * (-size % BLOCK)


def encode_header(
    name: bytes,
    typeflag: bytes,
    *,
    mode: int,
    uid: int,
    gid: int,
    mtime: int,
    size: int = 0,
    linkname: bytes = b"",
    devmajor: int = 0,
    devminor: int = 0,
    xattrs: dict[str, bytes] | None = None,
) -> bytes:
    """The header block(s) of one entry: a PAX header first when USTAR cannot hold it."""
    pax: dict[bytes, bytes] = {}
    prefix = b""
    if len(name) > _NAME_SIZE or not name.isascii():
        split = _split_ustar(name)
        if split is None:
            pax[b"path"] = name
            name = name[:_NAME_SIZE]
        else:
            prefix, name = split
    if len(linkname) > _NAME_SIZE or not linkname.isascii():
        pax[b"linkpath"] = linkname
        linkname = linkname[:_NAME_SIZE]
    if size > _MAX_OCTAL_11:
        pax[b"size"], size = str(size).encode(), 0
    if uid > _MAX_OCTAL_7:
        pax[b"uid"], uid = str(uid).encode(), 0
    if gid > _MAX_OCTAL_7:
        pax[b"gid"], gid = str(gid).encode(), 0
    if mtime > _MAX_OCTAL_11 or mtime < 0:
        pax[b"mtime"], mtime = str(mtime).encode(), 0
    if xattrs:
        for key, value in xattrs.items():
            pax[(XATTR_PREFIX + key).encode("utf-8", "surrogateescape")] = value
    header = _raw_block(
        name, typeflag, size, mode, uid, gid, mtime, linkname, devmajor, devminor, prefix
    )
    if not pax:
        return header
    data = b"".join(_pax_record(key, pax[key]) for key in sorted(pax))
    real = pax.get(b"path", prefix + b"/" + name if prefix else name)
    directory, _, base = real.rstrip(b"/").rpartition(b"/")
    pax_name = (directory + b"/" if directory else b"") + b"PaxHeaders.0/" + base
    pax_name = pax_name.decode("ascii", "replace").encode("ascii", "replace")[:_NAME_SIZE]
    pax_block = _raw_block(pax_name.rstrip(b"/"), _PAX_LOCAL, len(data), 0, 0, 0, 0, b"", 0, 0, b"")
    return pax_block + data + padding(len(data)) + header


@dataclass
class Member:
    """One entry read from a tar stream (names as ``str`` with surrogateescape)."""

    name: str
    typeflag: bytes
    mode: int
    uid: int
    gid: int
    size: int
    mtime: float
    linkname: str
    devmajor: int
    devminor: int
    xattrs: dict[str, bytes] = field(default_factory=dict)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _number(field_bytes: bytes, what: str) -> int:
    if field_bytes[:1] in (b"\x80", b"\xff"):  # GNU base-256
        value = int.from_bytes(field_bytes[1:], "big")
        return -((1 << (8 * len(field_bytes) - 8)) - value) if field_bytes[0] == 0xFF else value
    text = field_bytes.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise UnpackError(f"malformed tar header: bad {what} field {text!r}") from None


def _parse_pax(data: bytes) -> dict[bytes, bytes]:
    records: dict[bytes, bytes] = {}
    position = 0
    while position < len(data):
        space = data.find(b" ", position)
        if space < 0:
            break
        try:
            length = int(data[position:space])
        except ValueError:
            raise UnpackError("malformed PAX header in layer") from None
        if length <= 0 or position + length > len(data):
            raise UnpackError("malformed PAX header in layer")
        record = data[space + 1 : position + length - 1]
        key, _, value = record.partition(b"=")
        records[key] = value
        position += length
    return records


_READ_SIZE = 1 << 20
_ZERO_BLOCK = b"\0" * BLOCK
_HEADER_ONLY = (HARDLINK, SYMLINK, CHARDEV, BLOCKDEV, DIRECTORY, FIFO)


def _octal_field(raw: bytes, what: str) -> int:
    """A NUL/space-terminated octal field (or GNU base-256)."""
    end = raw.find(b"\0")
    text = (raw if end < 0 else raw[:end]).strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        return _number(raw, what)


class TarReader:
    """Reads members one by one from an uncompressed tar stream.

    The stream is read in 1 MiB chunks; headers are cut from that buffer and file
    data is handed out as views of it (no copy). After :meth:`next` returns a
    member, consume its data with :meth:`read_data` (or let the next :meth:`next`
    skip it).
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._buffer = b""
        self._position = 0
        self._remaining = 0  # data bytes of the current member not yet read
        self._pad = 0

    def _available(self, wanted: int) -> int:
        """Make up to ``wanted`` bytes available at the read position; returns how many."""
        have = len(self._buffer) - self._position
        if have >= wanted:
            return have
        parts = [self._buffer[self._position :]] if have else []
        while have < wanted:
            chunk = self._stream.read(max(_READ_SIZE, wanted - have))
            if not chunk:
                break
            parts.append(chunk)
            have += len(chunk)
        self._buffer = b"".join(parts)  # one part: the same object, no copy
        self._position = 0
        return have

    def _take(self, size: int) -> bytes:
        if self._available(size) < size:
            raise UnpackError("unexpected end of layer tar stream", "the layer is truncated")
        start = self._position
        self._position += size
        return self._buffer[start : self._position]

    def _special_data(self, size: int) -> bytes:
        if size > 1 << 24:
            raise UnpackError("tar extended header larger than 16 MiB")
        return self._take(size + (-size % BLOCK))[:size]

    def next(self) -> Member | None:
        """The next member, or None at the end of the archive."""
        self.skip_data()
        pax: dict[bytes, bytes] = {}
        long_name: bytes | None = None
        long_link: bytes | None = None
        while True:
            have = self._available(BLOCK)
            if have == 0:
                return None  # no end-of-archive marker: accepted, like GNU tar
            block = self._take(BLOCK)
            if block == _ZERO_BLOCK:
                return None
            stored = _octal_field(block[148:156], "checksum")
            if stored != sum(block) - sum(block[148:156]) + 256:
                raise UnpackError("malformed layer: tar header checksum mismatch")
            typeflag = block[156:157]
            size = _octal_field(block[124:136], "size")
            if typeflag == _PAX_LOCAL:
                pax.update(_parse_pax(self._special_data(size)))
            elif typeflag == _PAX_GLOBAL:
                self._special_data(size)
            elif typeflag == _GNU_LONGNAME:
                long_name = self._special_data(size).rstrip(b"\0")
            elif typeflag == _GNU_LONGLINK:
                long_link = self._special_data(size).rstrip(b"\0")
            else:
                return self._member(block, typeflag, size, pax, long_name, long_link)

    def _member(self, block: bytes, typeflag: bytes, size: int, pax: dict[bytes, bytes],
                long_name: bytes | None, long_link: bytes | None) -> Member:  # fmt: skip
        name = block[0:100].split(b"\0", 1)[0]
        if block[257:262] == b"ustar" and block[345] != 0:
            name = block[345:500].split(b"\0", 1)[0] + b"/" + name
        linkname = block[157:257].split(b"\0", 1)[0] if block[157] != 0 else b""
        if long_name is not None:
            name = long_name
        if long_link is not None:
            linkname = long_link
        xattrs: dict[str, bytes] = {}
        mtime: float = _octal_field(block[136:148], "mtime")
        uid = _octal_field(block[108:116], "uid")
        gid = _octal_field(block[116:124], "gid")
        if pax:
            name = pax.get(b"path", name)
            linkname = pax.get(b"linkpath", linkname)
            size = int(pax[b"size"]) if b"size" in pax else size
            uid = int(pax[b"uid"]) if b"uid" in pax else uid
            gid = int(pax[b"gid"]) if b"gid" in pax else gid
            mtime = float(pax[b"mtime"]) if b"mtime" in pax else mtime
            if b"GNU.sparse.major" in pax or b"GNU.sparse.size" in pax:
                typeflag = b"S"
            prefix = XATTR_PREFIX.encode()
            for key, value in pax.items():
                if key.startswith(prefix):
                    xattrs[_text(key[len(prefix) :])] = value
        if typeflag in (b"\0", _CONTIGUOUS):
            typeflag = DIRECTORY if name.endswith(b"/") else REGULAR
        if typeflag == b"S":
            raise UnpackError(
                f"unsupported sparse file in layer: {_text(name)!r}",
                "re-create the layer without --sparse",
            )
        device = typeflag in (CHARDEV, BLOCKDEV)
        member = Member(
            name=_text(name),
            typeflag=typeflag,
            mode=_octal_field(block[100:108], "mode") & 0o7777,
            uid=uid,
            gid=gid,
            size=size if typeflag == REGULAR else 0,
            mtime=mtime,
            linkname=_text(linkname),
            devmajor=_octal_field(block[329:337], "devmajor") if device else 0,
            devminor=_octal_field(block[337:345], "devminor") if device else 0,
            xattrs=xattrs,
        )
        # Like Go's reader: links, devices, directories and fifos never carry data.
        self._remaining = 0 if typeflag in _HEADER_ONLY else size
        self._pad = -self._remaining % BLOCK
        return member

    def read_data(self, size: int = _READ_SIZE) -> memoryview:
        """Up to ``size`` bytes of the current member's data (empty at its end).

        The view is valid until the next call on this reader.
        """
        if self._remaining <= 0:
            return memoryview(b"")
        have = self._available(1)
        if have == 0:
            raise UnpackError("unexpected end of layer tar stream", "the layer is truncated")
        take = min(size, self._remaining, have)
        start = self._position
        self._position += take
        self._remaining -= take
        return memoryview(self._buffer)[start : self._position]

    def skip_data(self) -> None:
        """Discard what is left of the current member's data and its padding."""
        left = self._remaining + self._pad
        self._remaining = self._pad = 0
        while left > 0:
            have = self._available(1)
            if have == 0:
                raise UnpackError("unexpected end of layer tar stream", "the layer is truncated")
            step = min(left, have)
            self._position += step
            left -= step
