"""Write a layer from a list of entries instead of a directory on disk.

A COPY from the build context knows exactly which entries its layer holds (the
context's files with their new owners and modes, plus the image directories they
land in): writing them straight into the tar stream skips creating 20,000 files in
an overlay upper directory only to read them back. The tar is the one
:class:`~dockyard.fs.layer.TreeWriter` would write for the same tree: entries in
lexical depth-first order, the same header fields, xattrs read from the entry's
source file, the second and later names of a hard-linked inode as hard links.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

from dockyard.errors import LayerError
from dockyard.fs.compress import Compression, LayerBlob, LayerSink
from dockyard.fs.layer import read_xattrs
from dockyard.fs.tarformat import (
    BLOCKDEV,
    CHARDEV,
    DIRECTORY,
    END_OF_ARCHIVE,
    FIFO,
    HARDLINK,
    REGULAR,
    SYMLINK,
    encode_header,
    padding,
)

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(eq=False)
class Inode:
    """What a layer entry says about a file; several names may share one (hard links)."""

    mode: int  # type and permission bits, as st_mode
    uid: int
    gid: int
    mtime_ns: int
    size: int = 0
    source: str | None = None  # the file whose data (and xattrs) the entry carries
    data: bytes | None = None  # or the data itself (a heredoc)
    linkname: str = ""  # a symlink's target
    rdev: int = 0
    xattrs: dict[str, bytes] = field(default_factory=dict)  # set explicitly, over source's
    xattr_source: str | None = None  # read xattrs from this path when writing
    links: int = 0  # how many names of the layer point at this inode


@dataclass(frozen=True)
class LayerEntry:
    path: str  # relative, no leading or trailing "/"
    inode: Inode


def entry_order(path: str) -> tuple[bytes, ...]:
    """The sort key that gives TreeWriter's order (depth first, names bytewise)."""
    return tuple(part.encode("utf-8", "surrogateescape") for part in path.split("/"))


def write_entries(
    entries: Iterable[LayerEntry],
    out: BinaryIO,
    *,
    compression: Compression = "gzip",
    source_date_epoch: int | None = None,
) -> LayerBlob:
    """Write ``entries`` (any order) as a layer blob to ``out``."""
    ordered = sorted(entries, key=lambda entry: entry_order(entry.path))
    sink = LayerSink(out, compression)
    try:
        writer = _EntryWriter(sink, source_date_epoch)
        for entry in ordered:
            writer.write(entry)
        sink.write(END_OF_ARCHIVE)
    except OSError as error:
        sink.abort()
        raise LayerError(
            f"cannot write layer: {error.filename or ''}: {error.strerror}",
            "do not change the build context while it is copied",
        ) from error
    except BaseException:
        sink.abort()
        raise
    return sink.close()


class _EntryWriter:
    def __init__(self, sink: LayerSink, source_date_epoch: int | None) -> None:
        self._sink = sink
        self._clamp = source_date_epoch
        self._first_names: dict[int, bytes] = {}

    def write(self, entry: LayerEntry) -> None:
        inode = entry.inode
        kind = stat.S_IFMT(inode.mode)
        if kind == stat.S_IFSOCK:
            return
        name = entry.path.encode("utf-8", "surrogateescape")
        if inode.links > 1:
            first = self._first_names.get(id(inode))
            if first is not None and kind != stat.S_IFDIR:
                self._header(name, HARDLINK, inode, linkname=first, xattrs=_xattrs(inode))
                return
            self._first_names[id(inode)] = name
        if kind == stat.S_IFREG:
            if inode.data is not None:
                self._header(name, REGULAR, inode, size=inode.size, xattrs=_xattrs(inode))
                self._sink.write(inode.data)
                self._sink.write(padding(len(inode.data)))
            else:
                self._file(name, inode)
            return
        xattrs = _xattrs(inode)
        if kind == stat.S_IFDIR:
            self._header(name + b"/", DIRECTORY, inode, xattrs=xattrs)
        elif kind == stat.S_IFLNK:
            target = inode.linkname.encode("utf-8", "surrogateescape")
            self._header(name, SYMLINK, inode, linkname=target, xattrs=xattrs)
        elif kind in (stat.S_IFCHR, stat.S_IFBLK):
            typeflag = CHARDEV if kind == stat.S_IFCHR else BLOCKDEV
            self._header(name, typeflag, inode, device=inode.rdev, xattrs=xattrs)
        elif kind == stat.S_IFIFO:
            self._header(name, FIFO, inode, xattrs=xattrs)

    def _header(
        self,
        name: bytes,
        typeflag: bytes,
        inode: Inode,
        *,
        size: int = 0,
        linkname: bytes = b"",
        device: int = 0,
        xattrs: dict[str, bytes] | None = None,
    ) -> None:
        seconds = inode.mtime_ns // 1_000_000_000
        if self._clamp is not None and seconds > self._clamp:
            seconds = self._clamp
        self._sink.write(
            encode_header(
                name,
                typeflag,
                mode=inode.mode & 0o7777,
                uid=inode.uid,
                gid=inode.gid,
                mtime=seconds,
                size=size,
                linkname=linkname,
                devmajor=os.major(device),
                devminor=os.minor(device),
                xattrs=xattrs,
            )
        )

    def _file(self, name: bytes, inode: Inode) -> None:
        """A regular file's header and data, read from its source (xattrs by descriptor)."""
        assert inode.source is not None
        fd = os.open(inode.source, _OPEN_FLAGS)
        try:
            by_fd = inode.xattr_source == inode.source
            self._header(
                name, REGULAR, inode, size=inode.size, xattrs=_xattrs(inode, fd if by_fd else None)
            )
            sink = self._sink
            left = inode.size
            while left:
                buffer = sink.buffer()
                if len(buffer) > left:
                    buffer = buffer[:left]
                count = os.readv(fd, [buffer])
                if count == 0:
                    raise LayerError(
                        f"cannot write layer: {inode.source} shrank while it was read",
                        "do not change the build context while it is copied",
                    )
                sink.commit(count)
                left -= count
        finally:
            os.close(fd)
        self._sink.write(padding(inode.size))


def _xattrs(inode: Inode, fd: int | None = None) -> dict[str, bytes] | None:
    """The entry's xattrs: its source's (read through ``fd`` when given), then its own."""
    found = None
    if fd is not None:
        found = read_xattrs(fd)[1]
    elif inode.xattr_source is not None:
        found = read_xattrs(inode.xattr_source)[1]
    if not inode.xattrs:
        return found
    values = dict(found or {})
    values.update(inode.xattrs)
    return {name: values[name] for name in sorted(values)}
