"""The leaves of a copy: directories made like fsutil's MkdirAll, file data and xattrs.

File data moves with ``copy_file_range`` (in-kernel; reflinks where the filesystem
can), falling back to read/write across filesystems that refuse it.
"""

from __future__ import annotations

import errno
import os
import stat

from dockyard.errors import BuildError
from dockyard.solver.fileops.users import Owner

_CHUNK = 1 << 30

Job = tuple[str, str, os.stat_result, int, int, int]


def mkdir_all(path: str, owner: Owner | None) -> None:
    """fsutil's MkdirAll: create missing directories 0755, chowned to ``owner``."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except NotADirectoryError as error:
        raise BuildError(f"cannot create directory {path}: a parent is not a directory") from error
    if st is not None:
        if not stat.S_ISDIR(st.st_mode):
            raise BuildError(f"cannot create directory {path}: a file is in the way")
        return
    parent = os.path.dirname(path.rstrip("/"))
    if parent and parent != path:
        mkdir_all(parent, owner)
    try:
        os.mkdir(path, 0o755)
    except FileExistsError:
        if os.path.isdir(path):
            return
        raise BuildError(f"cannot create directory {path}: a file is in the way") from None
    os.chmod(path, 0o755)
    if owner is not None:
        os.lchown(path, owner.uid, owner.gid)


def write_files(jobs: list[Job]) -> None:
    for job in jobs:
        write_file(*job)


def write_file(source: str, target: str, st: os.stat_result, uid: int, gid: int, bits: int) -> None:
    try:
        src = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        raise BuildError(f"cannot read {source}: {error.strerror}") from error
    try:
        dst = os.open(
            target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
        )
        try:
            _copy_data(src, dst, st.st_size)
            os.fchown(dst, uid, gid)
            os.fchmod(dst, bits)
            _copy_fd_xattrs(src, dst)
            os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _copy_data(src: int, dst: int, size: int) -> None:
    copied = 0
    try:
        while True:
            count = os.copy_file_range(src, dst, _CHUNK)
            if count == 0:
                return
            copied += count
    except OSError as error:
        if copied or error.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EPERM):
            raise
    while chunk := os.read(src, 1 << 20):
        os.write(dst, chunk)


def _copy_fd_xattrs(src: int, dst: int) -> None:
    try:
        names = os.listxattr(src)
    except OSError:
        return
    for name in names:
        if name.startswith("trusted.overlay."):
            continue
        try:
            os.setxattr(dst, name, os.getxattr(src, name))
        except OSError:
            continue  # like BuildKit: xattr errors are logged, not fatal


def copy_xattrs(source: str, target: str) -> None:
    try:
        names = os.listxattr(source, follow_symlinks=False)
    except OSError:
        return
    for name in names:
        if name.startswith("trusted.overlay."):
            continue
        try:
            value = os.getxattr(source, name, follow_symlinks=False)
            os.setxattr(target, name, value, follow_symlinks=False)
        except OSError:
            continue


class DiskTarget:
    """The copier's view of its destination: a real root filesystem (an overlay mount).

    :class:`dockyard.solver.fileops.virtual.VirtualTarget` has the same methods and
    records the result instead of writing it.
    """

    parallel_writes = True

    def __init__(self, root: str) -> None:
        self.root = root

    def resolve(self, path: str) -> str:
        from dockyard.fs.safepath import resolve_in_root

        return str(resolve_in_root(self.root, path))

    def stat(self, path: str) -> os.stat_result:
        return os.stat(path)

    def lstat(self, path: str) -> os.stat_result:
        return os.lstat(path)

    def mkdir_all(self, path: str, owner: Owner | None) -> None:
        mkdir_all(path, owner)

    def mkdir(self, path: str) -> None:
        os.mkdir(path, 0o700)

    def chmod(self, path: str, bits: int) -> None:
        os.chmod(path, bits)

    def unlink(self, path: str) -> None:
        os.unlink(path)

    def symlink(self, linkname: str, path: str) -> None:
        os.symlink(linkname, path)

    def mknod(self, path: str, mode: int, rdev: int) -> None:
        os.mknod(path, mode, rdev)

    def set_info(
        self,
        path: str,
        uid: int,
        gid: int,
        bits: int | None,
        xattr_source: str,
        mtime: tuple[int, int],
    ) -> None:
        os.lchown(path, uid, gid)
        if bits is not None:
            os.chmod(path, bits)
        copy_xattrs(xattr_source, path)
        os.utime(path, ns=mtime, follow_symlinks=False)

    def utime(self, path: str, mtime: tuple[int, int]) -> None:
        os.utime(path, ns=mtime)

    def link(self, first: str, path: str) -> None:
        os.link(first, path, follow_symlinks=False)

    def write_files(self, jobs: list[Job]) -> None:
        write_files(jobs)

    def write_inline(self, path: str, data: bytes, uid: int, gid: int, bits: int) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, data)
            os.fchown(fd, uid, gid)
            os.fchmod(fd, bits)
        finally:
            os.close(fd)
