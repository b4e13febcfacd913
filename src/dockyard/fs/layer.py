"""Write a directory as a layer: deterministic tar, compressed, digested in one pass.

Two kinds of source: a full tree (``import``, ``bootstrap``, a flattened rootfs)
and an overlayfs upper directory (a RUN or COPY step), whose overlay whiteouts are
translated into OCI ones: a 0/0 character device ``NAME`` becomes an empty file
``.wh.NAME``, a directory carrying ``trusted.overlay.opaque=y`` gets a
``DIR/.wh..wh..opq`` entry right after its own (as moby's overlay converter does).

The tar follows BuildKit's conventions: entries in lexical order of a depth-first
walk, relative names without ``./``, directories with a trailing ``/``, numeric
uid/gid with empty user and group names, permission bits including setuid/setgid/
sticky, mtimes in whole seconds (clamped to ``source_date_epoch`` when given),
xattrs as ``SCHILY.xattr.*`` PAX records, the second and later names of a hard-linked
inode as hard links, sockets left out. The overlay's own ``trusted.overlay.*``
xattrs never reach a layer.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Collection
from pathlib import Path
from typing import BinaryIO, Literal

from dockyard.errors import LayerError
from dockyard.fs.compress import Compression, LayerBlob, LayerSink
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

LayerKind = Literal["tree", "overlay-upper"]

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"
# An upper dir holding these only makes sense together with its lower layers.
_UNDIFFABLE_XATTRS = frozenset({"trusted.overlay.redirect", "trusted.overlay.metacopy"})
_PRIVATE_XATTRS = ("trusted.overlay.", "user.overlay.", "security.selinux")
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
_DIRECTORY_FLAGS = _OPEN_FLAGS | os.O_DIRECTORY
# Directories kept open while walking (one per level); deeper ones go by path.
_OPEN_DIRECTORIES = 64
_noatime = True  # cleared once O_NOATIME is refused (files owned by someone else)


def _encode(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


def _normalise(path: str) -> str:
    return "/".join(part for part in path.split("/") if part and part != ".")


def write_layer(
    source_dir: Path | str,
    out: BinaryIO,
    *,
    kind: LayerKind = "tree",
    compression: Compression = "gzip",
    source_date_epoch: int | None = None,
    exclude: Collection[str] = (),
) -> LayerBlob:
    """Write ``source_dir`` as a layer blob to ``out``; see the module docstring.

    ``exclude`` lists paths relative to ``source_dir`` (``etc/resolv.conf``) left
    out together with everything under them. ``out`` is only written to.
    """
    if kind not in ("tree", "overlay-upper"):
        raise ValueError(f"unknown layer source kind {kind!r}")
    sink = LayerSink(out, compression)
    try:
        TreeWriter(sink, kind, source_date_epoch, exclude).write_tree(os.fspath(source_dir))
        sink.write(END_OF_ARCHIVE)
    except OSError as error:
        sink.abort()
        where = error.filename if error.filename is not None else source_dir
        raise LayerError(
            f"cannot write layer from {source_dir}: {where}: {error.strerror}",
            "is something changing or removing files under it while the layer is written?",
        ) from error
    except BaseException:
        sink.abort()
        raise
    return sink.close()


class TreeWriter:
    def __init__(
        self,
        sink: LayerSink,
        kind: LayerKind,
        source_date_epoch: int | None,
        exclude: Collection[str],
    ) -> None:
        self._sink = sink
        self._overlay = kind == "overlay-upper"
        self._clamp = source_date_epoch
        self._exclude = {_normalise(path) for path in exclude}
        self._links: dict[tuple[int, int], bytes] = {}

    def write_tree(self, root: str) -> None:
        if not stat.S_ISDIR(os.stat(root).st_mode):
            raise LayerError(f"cannot write layer: {root} is not a directory")
        self.write_children(root, "")

    def write_children(self, directory: str, prefix: str) -> None:
        """Every entry under ``directory``, named ``prefix`` + its relative path.

        Entries are looked up relative to their open parent directory (one path
        component per system call, not the whole path), and a file's xattrs are read
        from its open descriptor: a 20,000-file tree spends most of its per-entry
        time in path lookups otherwise.
        """
        # An explicit stack of (open directory or None, its path, relative prefix,
        # remaining names); below _OPEN_DIRECTORIES levels, entries go by full path.
        stack: list[tuple[int | None, str, str, list[str]]] = []
        try:
            top = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)  # may be a link
            stack.append(_opened(top, directory, prefix))
            while stack:
                dir_fd, directory, prefix, names = stack[-1]
                if not names:
                    stack.pop()
                    if dir_fd is not None:
                        os.close(dir_fd)
                    continue
                name = names.pop()
                relative = prefix + name
                if relative in self._exclude:
                    continue
                full = directory + "/" + name
                child = self._entry(dir_fd, name if dir_fd is not None else full, full, relative)
                if child is None:
                    continue
                if len(stack) >= _OPEN_DIRECTORIES:
                    os.close(child)
                    stack.append((None, full, relative + "/", sorted_names(full)))
                else:
                    stack.append(_opened(child, full, relative + "/"))
        finally:
            for dir_fd, *_ in stack:
                if dir_fd is not None:
                    os.close(dir_fd)

    def excluded(self, relative: str) -> bool:
        return relative in self._exclude

    def write_whiteout(self, relative: str, st: os.stat_result) -> None:
        """A ``.wh.`` entry hiding ``relative``; owner and time from ``st`` (its parent)."""
        head, _, base = _encode(relative).rpartition(b"/")
        whiteout = (head + b"/" if head else b"") + _encode(WHITEOUT_PREFIX) + base
        self._write_header(whiteout, REGULAR, st, mode=0o600)

    def write_directory_header(self, full: str, relative: str) -> None:
        """Only the entry of a directory (a parent of a change), not its content."""
        st = os.lstat(full)
        self._write_header(_encode(relative) + b"/", DIRECTORY, st, xattrs=read_xattrs(full)[1])

    def _mtime(self, st: os.stat_result) -> int:
        seconds = st.st_mtime_ns // 1_000_000_000
        if self._clamp is not None and seconds > self._clamp:
            return self._clamp
        return seconds

    def entry(self, full: str, relative: str) -> bool:
        """Write one entry; True when it is a directory to descend into."""
        child = self._entry(None, full, full, relative)
        if child is None:
            return False
        os.close(child)
        return True

    def _entry(self, dir_fd: int | None, name: str, full: str, relative: str) -> int | None:
        """Write the entry ``name`` (in ``dir_fd``, or a path when None) named ``relative``.

        For a directory, returns its open descriptor (the caller closes it).
        """
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        kind = stat.S_IFMT(st.st_mode)
        if kind == stat.S_IFREG:
            if st.st_nlink == 1 or not self._hard_link(full, relative, st):
                self._regular(dir_fd, name, full, relative, st)
            return None
        if kind == stat.S_IFDIR:
            fd = os.open(name, _DIRECTORY_FLAGS, dir_fd=dir_fd)
            try:
                self._directory(fd, full, relative, st)
            except BaseException:
                os.close(fd)
                raise
            return fd
        if kind == stat.S_IFSOCK:
            return None
        if self._overlay and kind == stat.S_IFCHR and st.st_rdev == 0:
            self.write_whiteout(relative, st)
            return None
        if st.st_nlink > 1 and self._hard_link(full, relative, st):
            return None
        xattrs = self._xattrs(full, read_xattrs(full))
        name_bytes = _encode(relative)
        if kind == stat.S_IFLNK:
            target = _encode(os.readlink(full))
            self._write_header(name_bytes, SYMLINK, st, linkname=target, xattrs=xattrs)
        elif kind in (stat.S_IFCHR, stat.S_IFBLK):
            typeflag = CHARDEV if kind == stat.S_IFCHR else BLOCKDEV
            self._write_header(name_bytes, typeflag, st, device=st.st_rdev, xattrs=xattrs)
        elif kind == stat.S_IFIFO:
            self._write_header(name_bytes, FIFO, st, xattrs=xattrs)
        return None

    def _xattrs(
        self, full: str, listed: tuple[list[str], dict[str, bytes] | None]
    ) -> dict[str, bytes] | None:
        """The xattrs that go into the layer, after refusing an overlay-only entry."""
        names, values = listed
        if self._overlay and names and _UNDIFFABLE_XATTRS.intersection(names):
            raise LayerError(
                f"cannot write layer: {full} is a redirect or metacopy entry of overlayfs",
                "mount build snapshots with dockyard.fs.mount_overlay (redirect_dir=off, "
                "metacopy=off) so that the upper directory is a plain diff",
            )
        return values

    def _hard_link(self, full: str, relative: str, st: os.stat_result) -> bool:
        """Write a hard link entry if this inode was written before under another name."""
        key = (st.st_dev, st.st_ino)
        first = self._links.get(key)
        if first is None:
            self._links[key] = _encode(relative)
            return False
        xattrs = self._xattrs(full, read_xattrs(full))
        self._write_header(_encode(relative), HARDLINK, st, linkname=first, xattrs=xattrs)
        return True

    def _directory(self, fd: int, full: str, relative: str, st: os.stat_result) -> None:
        listed = read_xattrs(fd)
        name = _encode(relative)
        self._write_header(name + b"/", DIRECTORY, st, xattrs=self._xattrs(full, listed))
        opaque = self._overlay and OVERLAY_OPAQUE_XATTR in listed[0]
        if opaque and os.getxattr(fd, OVERLAY_OPAQUE_XATTR) == b"y":
            marker = name + b"/" + _encode(OPAQUE_MARKER)
            self._write_header(marker, REGULAR, st, mode=st.st_mode & 0o777)

    def _regular(
        self, dir_fd: int | None, name: str, full: str, relative: str, st: os.stat_result
    ) -> None:
        fd = _open_for_reading(name, dir_fd)
        try:
            xattrs = self._xattrs(full, read_xattrs(fd))
            self._write_header(_encode(relative), REGULAR, st, size=st.st_size, xattrs=xattrs)
            self._copy_data(fd, full, st.st_size)
        finally:
            os.close(fd)

    def _write_header(
        self,
        name: bytes,
        typeflag: bytes,
        st: os.stat_result,
        *,
        mode: int | None = None,
        size: int = 0,
        linkname: bytes = b"",
        device: int = 0,
        xattrs: dict[str, bytes] | None = None,
    ) -> None:
        header = encode_header(
            name,
            typeflag,
            mode=st.st_mode & 0o7777 if mode is None else mode,
            uid=st.st_uid,
            gid=st.st_gid,
            mtime=self._mtime(st),
            size=size,
            linkname=linkname,
            devmajor=os.major(device),
            devminor=os.minor(device),
            xattrs=xattrs,
        )
        self._sink.write(header)

    def _copy_data(self, fd: int, full: str, size: int) -> None:
        sink = self._sink
        left = size
        while left:
            buffer = sink.buffer()
            if len(buffer) > left:
                buffer = buffer[:left]
            count = os.readv(fd, [buffer])
            if count == 0:
                raise LayerError(
                    f"cannot write layer: {full} shrank while it was read",
                    "do not change files while a layer is written from them",
                )
            sink.commit(count)
            left -= count
        sink.write(padding(size))


def _open_for_reading(name: str, dir_fd: int | None) -> int:
    global _noatime
    if _noatime:
        try:
            return os.open(name, _OPEN_FLAGS | os.O_NOATIME, dir_fd=dir_fd)
        except PermissionError as error:  # O_NOATIME needs ownership or CAP_FOWNER
            if error.errno == errno.EPERM:  # (EACCES: the file is unreadable anyway)
                _noatime = False
    return os.open(name, _OPEN_FLAGS, dir_fd=dir_fd)


def _opened(fd: int, path: str, prefix: str) -> tuple[int | None, str, str, list[str]]:
    """A stack entry for the open directory ``fd`` (closed if listing it fails)."""
    try:
        return fd, path, prefix, sorted_names(fd)
    except BaseException:
        os.close(fd)
        raise


def sorted_names(directory: str | int) -> list[str]:
    """Entry names in reverse byte order: ``pop()`` yields them in lexical order."""
    names = os.listdir(directory)
    names.sort(key=_encode, reverse=True)
    return names


def read_xattrs(path: str | int) -> tuple[list[str], dict[str, bytes] | None]:
    """(all xattr names, the values of those a layer keeps) of a path (not followed) or fd."""
    try:
        if isinstance(path, int):
            names = os.listxattr(path)
        else:
            names = os.listxattr(path, follow_symlinks=False)
    except OSError as error:
        if error.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return [], None
        raise
    if not names:
        return names, None
    follow = isinstance(path, int)  # a descriptor is the file itself
    values = {
        name: os.getxattr(path, name, follow_symlinks=follow)
        for name in sorted(names)
        if not name.startswith(_PRIVATE_XATTRS)
    }
    return names, values or None
