"""Helpers for the fs tests: a tree with every kind of entry, a tree inventory, tar streams."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import stat
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

# A valid VFS_CAP_REVISION_2 value granting cap_net_bind_service (bit 10), permitted.
CAPABILITY = bytes.fromhex("01000002" + "00040000" + "00000000" + "00000000" + "00000000")
LONG_COMPONENT = "c" * 200
LONG_PATH = "/".join(["segment-" + str(i) * 20 for i in range(6)])  # > 100, splittable
PRIVATE_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.", "security.selinux")


def _write(path: Path, data: bytes, mode: int = 0o644, uid: int = 0, gid: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def make_rich_tree(root: Path) -> Path:
    """Every kind of entry a layer carries, with awkward names and metadata."""
    root.mkdir(parents=True, exist_ok=True)
    _write(root / "etc/hostname", b"dockyard\n")
    _write(root / "etc/shadow", b"root:*:1::::::\n", mode=0o640, gid=42)
    _write(root / "home/user/notes.txt", b"owned by 1000\n", uid=1000, gid=1000)
    _write(root / "usr/bin/setuid-tool", b"\x7fELF fake", mode=0o4755)
    _write(root / "usr/bin/ping", b"\x7fELF ping", mode=0o755)
    os.setxattr(root / "usr/bin/ping", "security.capability", CAPABILITY)
    _write(root / "usr/share/empty", b"")
    _write(root / "usr/share/big.bin", os.urandom(3 * (1 << 20) + 123))
    _write(root / "data/xattr-file", b"x", uid=65534, gid=65534)
    os.setxattr(root / "data/xattr-file", "user.comment", b"hello \xff binary")
    os.setxattr(root / "data", "trusted.dockyard-test", b"dir xattr")
    (root / "tmp").mkdir()
    os.chmod(root / "tmp", 0o1777)
    (root / "srv/shared").mkdir(parents=True)
    os.chmod(root / "srv/shared", 0o2775)
    (root / "private").mkdir(mode=0o700)
    os.chmod(root / "private", 0o700)
    # Hard links: three names for one inode.
    _write(root / "usr/lib/libreal.so", b"library bytes" * 100)
    os.link(root / "usr/lib/libreal.so", root / "usr/lib/libhard.so")
    os.link(root / "usr/lib/libreal.so", root / "etc/hard-elsewhere")
    # Symlinks: relative, absolute, dangling, long target.
    os.symlink("libreal.so", root / "usr/lib/libsym.so")
    os.symlink("/etc/hostname", root / "etc/hostname-link")
    os.symlink("../nowhere/at/all", root / "dangling")
    os.symlink("t" * 150, root / "long-target-link")
    os.lchown(root / "dangling", 7, 8)
    # Devices, a fifo and a socket (the socket must not reach the layer).
    (root / "dev").mkdir()
    os.mknod(root / "dev/null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.mknod(root / "dev/loop0", stat.S_IFBLK | 0o660, os.makedev(7, 0))
    os.mkfifo(root / "dev/initctl", 0o600)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "dev/log"))
    sock.close()
    # Long and non-ASCII names.
    _write(root / LONG_PATH / "file-in-long-dir", b"long path")
    _write(root / "names" / LONG_COMPONENT, b"long component")
    _write(root / "names/ünïcödé ✓", b"utf-8")
    _write(Path(os.fsdecode(os.fsencode(root / "names") + b"/latin1-\xe9\xff")), b"not utf-8")
    os.link(root / "names" / LONG_COMPONENT, root / "names" / ("h" * 180))
    # Fixed mtimes everywhere (directories last), the root left alone.
    for directory, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames + dirnames:
            path = os.path.join(directory, name)
            os.utime(path, (1_600_000_000, 1_600_000_000), follow_symlinks=False)
    return root


def inventory(root: Path, *, mtimes: bool = True) -> dict[str, tuple[Any, ...]]:
    """Everything a layer preserves, per relative path (the root itself left out)."""
    result: dict[str, tuple[Any, ...]] = {}
    inodes: dict[tuple[int, int], list[str]] = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, root)
            st = os.lstat(path)
            kind = stat.S_IFMT(st.st_mode)
            detail: Any = None
            if kind == stat.S_IFREG:
                with open(path, "rb") as handle:
                    detail = hashlib.sha256(handle.read()).hexdigest()
                if st.st_nlink > 1:
                    inodes.setdefault((st.st_dev, st.st_ino), []).append(relative)
            elif kind == stat.S_IFLNK:
                detail = os.readlink(path)
            elif kind in (stat.S_IFCHR, stat.S_IFBLK):
                detail = (os.major(st.st_rdev), os.minor(st.st_rdev))
            xattrs = tuple(
                sorted(
                    (key, os.getxattr(path, key, follow_symlinks=False))
                    for key in os.listxattr(path, follow_symlinks=False)
                    if not key.startswith(PRIVATE_XATTR_PREFIXES)
                )
            )
            mtime = st.st_mtime_ns // 1_000_000_000 if mtimes else None
            result[relative] = (kind, st.st_mode & 0o7777, st.st_uid, st.st_gid, detail, xattrs,
                                mtime)  # fmt: skip
    for names in inodes.values():
        if len(names) < 2:  # other names outside the tree (or hidden by an overlay)
            continue
        group = tuple(sorted(names))
        for name in names:
            result[name] = (*result[name], group)
    return result


class CountingSink(io.RawIOBase):
    """A write-only stream that keeps a digest and a byte count, not the bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.hasher = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.hasher.update(view)
        self.size += view.nbytes
        return view.nbytes


TarEntry = Callable[[tarfile.TarFile], None]


def tar_stream(*entries: tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]) -> io.BytesIO:
    """An uncompressed PAX tar built from TarInfo objects (regular files with data)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for entry in entries:
            if isinstance(entry, tuple):
                info, data = entry
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            else:
                archive.addfile(entry)
    buffer.seek(0)
    return buffer


def entry(name: str, kind: bytes = tarfile.REGTYPE, *, link: str = "", mode: int = 0o644,
          **fields: Any) -> tarfile.TarInfo:  # fmt: skip
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = mode
    info.mtime = 1_600_000_000
    for key, value in fields.items():
        setattr(info, key, value)
    return info
