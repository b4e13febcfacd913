"""ADD of a local tar archive: detected by content, extracted into the destination.

As BuildKit's file backend: a source is an archive when it is a regular file whose
(gzip, bzip2 or xz -- recognised by magic bytes, never by name) decompressed start
is a valid tar header. It is extracted into the destination directory (created
0755, owned by ``--chown`` or root), every path resolved inside that directory
(``..`` refused, symlinks contained), owners kept from the archive unless
``--chown`` is given, existing entries replaced, directory times set last. Whiteout
files get no special meaning: ADD is not a layer.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import stat
import tarfile
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, BinaryIO

from dockyard.compression import PeekableStream, compression_of_stream, decompressed
from dockyard.errors import BuildError
from dockyard.fs.safepath import resolve_in_root
from dockyard.solver.fileops.plan import CopyAction
from dockyard.solver.fileops.users import Owner
from dockyard.solver.fileops.writes import mkdir_all

if TYPE_CHECKING:
    from dockyard.solver.fileops.copy import CopyStats


@contextlib.contextmanager
def open_decompressed(path: str) -> Iterator[BinaryIO | None]:
    """The decompressed content of ``path``; None for zstd, which ADD does not unpack
    (Docker 20.10's archive package, which BuildKit's ADD uses, knows no zstd)."""
    with open(path, "rb") as raw:
        peekable = PeekableStream(raw)
        if compression_of_stream(peekable) == "zstd":
            yield None
            return
        with decompressed(peekable) as stream:
            yield stream


def _valid_tar_header(block: bytes) -> bool:
    if len(block) < 512 or block == bytes(512):
        return False
    field = block[148:156]
    try:
        text = field.replace(b"\0", b" ").strip()
        recorded = int(text, 8) if text else -1
    except ValueError:
        return False
    unsigned = sum(block[:148]) + 8 * 32 + sum(block[156:512])
    signed = sum((b - 256 if b > 127 else b) for b in block[:148] + block[156:512]) + 8 * 32
    return recorded in (unsigned, signed)


def is_archive(path: str) -> bool:
    """True if ``path`` is a regular file holding a (possibly compressed) tar archive."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return False
        with open_decompressed(path) as stream:
            if stream is None:
                return False
            return _valid_tar_header(stream.read(512))
    except (OSError, EOFError, ValueError):
        return False


def unpack_if_archive(
    action: CopyAction, dest_path: str, dest_root: str, owner: Owner | None, stats: CopyStats
) -> bool:
    """Extract ``action``'s source into ``dest_path`` if it is an archive; else False."""
    tree = action.tree
    source = tree.resolve(action.source)
    st = tree.lstat(source)
    if st is None or not stat.S_ISREG(st.st_mode):
        return False
    path = tree.disk_path(source)
    if not is_archive(path):
        return False
    dest = str(resolve_in_root(dest_root, dest_path))
    mkdir_all(dest, owner)
    with open_decompressed(path) as stream:
        assert stream is not None
        extract_tar(stream, dest, owner, name=action.source)
    stats.unpacked += 1
    return True


def _clean_member_name(name: str, archive: str) -> str:
    cleaned = posixpath.normpath(name.lstrip("/")) if name.strip("/") else "."
    if cleaned in (".", ""):
        return ""
    if cleaned == ".." or cleaned.startswith("../"):
        raise BuildError(
            f"archive {archive}: path {name!r} is outside the extraction directory",
            "the archive tries to write outside the ADD destination",
        )
    return cleaned


def extract_tar(stream: IO[bytes], dest: str, owner: Owner | None, *, name: str) -> None:
    """Extract a plain tar stream into directory ``dest`` (see the module docstring)."""
    directories: list[tuple[str, int]] = []
    try:
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            for member in archive:
                entry = _extract_member(archive, member, dest, owner, name)
                if entry is not None:
                    directories.append(entry)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise BuildError(f"cannot extract archive {name}: {error}") from error
    for path, mtime in reversed(directories):
        os.utime(path, (mtime, mtime), follow_symlinks=False)


def _extract_member(
    archive: tarfile.TarFile,
    member: tarfile.TarInfo,
    dest: str,
    owner: Owner | None,
    name: str,
) -> tuple[str, int] | None:
    relative = _clean_member_name(member.name, name)
    if not relative:
        return None
    target = str(resolve_in_root(dest, relative, follow_final=member.isdir()))
    _make_parents(dest, os.path.dirname(target))
    uid, gid = (owner.uid, owner.gid) if owner is not None else (member.uid, member.gid)
    mode = member.mode & 0o7777
    with contextlib.suppress(FileNotFoundError):
        existing = os.lstat(target)
        if not (stat.S_ISDIR(existing.st_mode) and member.isdir()):
            _remove_all(target)
    mtime = max(int(member.mtime), 0)
    if member.isdir():
        with contextlib.suppress(FileExistsError):
            os.mkdir(target, 0o700)
        os.lchown(target, uid, gid)
        os.chmod(target, mode)
        _set_xattrs(target, member)
        return target, mtime
    if member.isreg():
        source = archive.extractfile(member)
        assert source is not None
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(1 << 20):
                out.write(chunk)
            os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)
        _set_xattrs(target, member)
        os.utime(target, (mtime, mtime))
    elif member.issym():
        os.symlink(member.linkname, target)
        os.lchown(target, uid, gid)
        os.utime(target, (mtime, mtime), follow_symlinks=False)
    elif member.islnk():
        link_name = _clean_member_name(member.linkname, name)
        if not link_name:
            raise BuildError(f"archive {name}: hard link {member.name!r} targets the root")
        source_path = str(resolve_in_root(dest, link_name, follow_final=False))
        os.link(source_path, target, follow_symlinks=False)
    elif member.ischr() or member.isblk() or member.isfifo():
        kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK if member.isblk() else stat.S_IFIFO
        os.mknod(target, kind | mode, os.makedev(member.devmajor, member.devminor))
        os.lchown(target, uid, gid)
        os.chmod(target, mode)
        os.utime(target, (mtime, mtime), follow_symlinks=False)
    else:
        raise BuildError(
            f"archive {name}: unsupported entry {member.name!r} (type {member.type!r})"
        )
    return None


def _make_parents(root: str, directory: str) -> None:
    """Create missing parents of an entry (0755, root-owned), as BuildKit does."""
    if directory == root or os.path.isdir(directory):
        return
    relative = os.path.relpath(directory, root)
    current = root
    for part in relative.split(os.sep):
        current = os.path.join(current, part)
        try:
            os.mkdir(current, 0o755)
        except FileExistsError:
            if not os.path.isdir(current):
                raise BuildError(f"cannot extract into {current}: not a directory") from None
            continue
        os.lchown(current, 0, 0)
        os.chmod(current, 0o755)


def _remove_all(path: str) -> None:
    st = os.lstat(path)
    if stat.S_ISDIR(st.st_mode):
        import shutil

        shutil.rmtree(path)
    else:
        os.unlink(path)


def _set_xattrs(path: str, member: tarfile.TarInfo) -> None:
    for key, value in member.pax_headers.items():
        if key.startswith("SCHILY.xattr."):
            with contextlib.suppress(OSError):
                os.setxattr(
                    path,
                    key.removeprefix("SCHILY.xattr."),
                    value.encode("utf-8", "surrogateescape"),
                    follow_symlinks=False,
                )
