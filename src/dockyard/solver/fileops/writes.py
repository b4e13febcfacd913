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
