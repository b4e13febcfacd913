"""Unpack a layer into a root directory without ever writing outside it.

Refused (``UnpackError``): entry names or hard-link targets whose ``..`` climbs
above the root, whiteouts naming ``.``/``..``/nothing, hard links to a missing
entry or a directory, parents that exist but are not directories, sparse and
unknown entry types, malformed or truncated tar streams.

Contained (no error, nothing lands outside): absolute names and absolute hard-link
targets are taken relative to the root; every parent directory is resolved with
:func:`dockyard.fs.safepath.resolve_in_root`, so a symlink parent pointing out
(absolute or ``../..``), including one swapped in for a directory by an earlier
entry of the same layer, is followed *inside* the root; the last component is
never followed (an existing file or link is unlinked, then created with
``O_EXCL|O_NOFOLLOW``). Symlinks themselves are created as written: their targets
are only ever resolved inside a root. ``trusted.overlay.*`` xattrs in a layer are
dropped (they would change what an overlay mount shows).

Modes: ``apply`` flattens (whiteouts delete what earlier layers put there);
``overlay`` builds an overlay lowerdir in an empty root (``.wh.NAME`` becomes a 0/0
character device, ``.wh..wh..opq`` the ``trusted.overlay.opaque=y`` xattr; the root
gets mode 0755 unless the layer carries a ``./`` entry). Following the OCI spec, a
whiteout never hides an entry of its own layer.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from dockyard.compression import decompressed
from dockyard.digest import Digest
from dockyard.errors import UnpackError
from dockyard.fs.compress import CHUNK
from dockyard.fs.layer import OPAQUE_MARKER, OVERLAY_OPAQUE_XATTR, WHITEOUT_PREFIX
from dockyard.fs.safepath import relative_in_root
from dockyard.fs.tarformat import (
    BLOCKDEV,
    CHARDEV,
    DIRECTORY,
    FIFO,
    HARDLINK,
    REGULAR,
    SYMLINK,
    Member,
    TarReader,
)

UnpackMode = Literal["apply", "overlay"]

_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_DROPPED_XATTRS = ("trusted.overlay.", "user.overlay.")
_IS_ROOT = os.geteuid() == 0


@dataclass(frozen=True)
class UnpackResult:
    """What was read: check ``diff_id`` against the image config."""

    diff_id: Digest  # sha256 of the uncompressed tar stream
    size: int  # uncompressed bytes read
    entries: int


class _HashingReader:
    """Reads the tar stream and hashes it on a helper thread (sha256 drops the GIL)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._hasher = hashlib.sha256()
        self._hashing: deque[Future[None]] = deque()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dockyard-unpack")
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._stream.read(size)
        except (OSError, EOFError) as error:
            raise UnpackError(
                f"cannot unpack layer: {error}", "the layer blob is corrupt or truncated"
            ) from error
        except Exception as error:  # zlib/ISA-L/zstd errors: corrupt compressed data
            raise UnpackError(
                f"cannot unpack layer: corrupt compressed data ({error})",
                "the layer blob is corrupt; pull or load the image again",
            ) from error
        self._hashing.append(self._pool.submit(self._hasher.update, data))
        while len(self._hashing) > 4:
            self._hashing.popleft().result()
        self.size += len(data)
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass

    def digest(self) -> Digest:
        while self._hashing:
            self._hashing.popleft().result()
        return Digest.from_hasher(self._hasher)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def unpack_layer(stream: BinaryIO, root: Path | str, *, mode: UnpackMode = "apply") -> UnpackResult:
    """Unpack a layer (gzip, zstd or plain tar) into the existing directory ``root``.

    On error the root is left half-written: unpack into a temporary directory and
    rename it into place when the result must be all or nothing.
    """
    if mode not in ("apply", "overlay"):
        raise ValueError(f"unknown unpack mode {mode!r}")
    root_text = os.path.abspath(root)
    if not os.path.isdir(root_text):
        raise UnpackError(f"cannot unpack layer: {root_text} is not a directory")
    if mode == "overlay":
        # A lowerdir's root is the container's "/" unless a layer says otherwise;
        # the store's temporary directories are 0700.
        os.chmod(root_text, 0o755)
    layer = decompressed(stream)
    hashing = _HashingReader(layer)
    try:
        reader = TarReader(hashing)  # type: ignore[arg-type]
        unpacker = _Unpacker(root_text, mode)
        entries = 0
        while (member := reader.next()) is not None:
            unpacker.entry(member, reader)
            entries += 1
        unpacker.finish()
        hashing.drain()
        diff_id = hashing.digest()
    except OSError as error:
        raise UnpackError(
            f"cannot unpack layer into {root_text}: {error.filename or ''}: {error.strerror}"
        ) from error
    except EOFError as error:
        raise UnpackError(f"cannot unpack layer: {error}", "the layer is truncated") from error
    finally:
        hashing.close()
        layer.close()
    return UnpackResult(diff_id, hashing.size, entries)


def _clean(name: str, what: str) -> list[str]:
    """Components of an entry name; ``..`` may not climb above the root."""
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise UnpackError(
                    f"refusing layer: {what} {name!r} points outside the root",
                    "the layer is malformed or malicious",
                )
            parts.pop()
        else:
            parts.append(part)
    return parts


def _check_whiteout(base: str, name: str) -> None:
    hidden = base[len(WHITEOUT_PREFIX) :]
    if base != OPAQUE_MARKER and hidden in ("", ".", ".."):
        raise UnpackError(
            f"refusing layer: whiteout {name!r} does not name an entry of its directory",
            "the layer is malformed or malicious",
        )


class _Unpacker:
    def __init__(self, root: str, mode: UnpackMode) -> None:
        self._root = root
        self._overlay = mode == "overlay"
        self._written: set[str] = set()  # paths (relative, resolved) of this layer
        self._parents: dict[str, str] = {}  # entry parent -> resolved existing directory
        self._dir_times: list[tuple[str, int]] = []

    def entry(self, member: Member, reader: TarReader) -> None:
        parts = _clean(member.name, "entry")
        if not parts:
            if member.typeflag == DIRECTORY:
                self._metadata(self._root, member)
                self._dir_times.append((self._root, _ns(member.mtime)))
            return
        base = parts[-1]
        if base.startswith(WHITEOUT_PREFIX):
            _check_whiteout(base, member.name)
            # Flattening: a whiteout in a directory that does not exist hides nothing.
            parent_or_none = self._parent("/".join(parts[:-1]), member.name, self._overlay)
            if parent_or_none is not None:
                self._whiteout(parent_or_none, base, member.name)
            return
        parent = self._parent("/".join(parts[:-1]), member.name)
        assert parent is not None
        relative = f"{parent}/{base}" if parent else base
        path = f"{self._root}/{relative}"
        if member.typeflag == DIRECTORY:
            try:
                os.mkdir(path, 0o700)
            except FileExistsError:
                if self._make_room(path, for_directory=True):
                    os.mkdir(path, 0o700)
            self._metadata(path, member)
            self._dir_times.append((path, _ns(member.mtime)))
        else:
            # Create first (O_EXCL semantics everywhere): a fresh root never needs a
            # lookup; whatever is in the way (a link included) is removed, not followed.
            try:
                self._create(path, member, reader)
            except FileExistsError:
                self._make_room(path, for_directory=False)
                self._create(path, member, reader)
        self._written.add(relative)

    def _create(self, path: str, member: Member, reader: TarReader) -> None:
        typeflag = member.typeflag
        if typeflag == REGULAR:
            self._regular(path, member, reader)
        elif typeflag == SYMLINK:
            os.symlink(member.linkname, path)
            self._parents.clear()
            self._metadata(path, member)
        elif typeflag == HARDLINK:
            os.link(self._link_source(member), path, follow_symlinks=False)
        elif typeflag in (CHARDEV, BLOCKDEV):
            kind = stat.S_IFCHR if typeflag == CHARDEV else stat.S_IFBLK
            os.mknod(path, kind | 0o600, os.makedev(member.devmajor, member.devminor))
            self._metadata(path, member)
        elif typeflag == FIFO:
            os.mkfifo(path, 0o600)
            self._metadata(path, member)
        else:
            raise UnpackError(f"unsupported entry type {typeflag!r} in layer: {member.name!r}")

    def _parent(self, parent: str, name: str, create: bool = True) -> str | None:
        """The resolved (symlink-free) parent directory, created when missing."""
        cached = self._parents.get(parent)
        if cached is not None:
            return cached
        resolved = relative_in_root(self._root, parent)
        full = os.path.join(self._root, resolved) if resolved else self._root
        try:
            is_dir = stat.S_ISDIR(os.lstat(full).st_mode)
        except FileNotFoundError:
            if not create:
                return None
            os.makedirs(full, 0o755)
            is_dir = True
        if not is_dir:
            raise UnpackError(
                f"refusing layer entry {name!r}: its parent /{resolved} is not a directory"
            )
        self._parents[parent] = resolved
        return resolved

    def _make_room(self, path: str, *, for_directory: bool) -> bool:
        """Remove what is at ``path``; False when it is a directory that stays."""
        try:
            existing = os.lstat(path).st_mode
        except FileNotFoundError:
            return True
        if stat.S_ISDIR(existing):
            if for_directory:
                return False
            shutil.rmtree(path)
            self._parents.clear()
        else:
            if stat.S_ISLNK(existing):
                self._parents.clear()
            os.unlink(path)
        return True

    def _whiteout(self, parent: str, base: str, name: str) -> None:
        directory = os.path.join(self._root, parent) if parent else self._root
        if base == OPAQUE_MARKER:
            if self._overlay:
                os.setxattr(directory, OVERLAY_OPAQUE_XATTR, b"y", follow_symlinks=False)
                return
            prefix = f"{parent}/" if parent else ""
            for child in os.listdir(directory):
                if prefix + child not in self._written:
                    self._remove(os.path.join(directory, child))
            return
        hidden = base[len(WHITEOUT_PREFIX) :]
        relative = f"{parent}/{hidden}" if parent else hidden
        if relative in self._written:
            return  # a whiteout only hides what lower layers hold
        path = os.path.join(directory, hidden)
        if self._overlay:
            self._remove(path)
            os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))
        else:
            self._remove(path)

    def _remove(self, path: str) -> None:
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            return
        if stat.S_ISDIR(mode):
            shutil.rmtree(path)
        else:
            os.unlink(path)
        if stat.S_ISDIR(mode) or stat.S_ISLNK(mode):
            self._parents.clear()

    def _link_source(self, member: Member) -> str:
        parts = _clean(member.linkname, "hard link target")
        if not parts:
            raise UnpackError(f"refusing layer: hard link {member.name!r} points at the root")
        resolved = relative_in_root(self._root, "/".join(parts), follow_final=False)
        source = os.path.join(self._root, resolved)
        try:
            mode = os.lstat(source).st_mode
        except FileNotFoundError:
            raise UnpackError(
                f"refusing layer: hard link {member.name!r} -> {member.linkname!r}: no such entry",
                "a hard link must point at an earlier entry of the same layer",
            ) from None
        if stat.S_ISDIR(mode):
            raise UnpackError(
                f"refusing layer: hard link {member.name!r} -> {member.linkname!r} is a directory"
            )
        return source

    def _regular(self, path: str, member: Member, reader: TarReader) -> None:
        fd = os.open(path, _CREATE_FLAGS, 0o600)
        try:
            while data := reader.read_data(CHUNK):
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            if _IS_ROOT:
                os.fchown(fd, member.uid, member.gid)
            os.fchmod(fd, member.mode)
            self._xattrs(fd, member)
            mtime = _ns(member.mtime)
            os.utime(fd, ns=(mtime, mtime))
        finally:
            os.close(fd)

    def _metadata(self, path: str, member: Member) -> None:
        is_link = member.typeflag == SYMLINK
        if _IS_ROOT:
            os.chown(path, member.uid, member.gid, follow_symlinks=False)
        if not is_link:
            os.chmod(path, member.mode)
        self._xattrs(path, member)
        if member.typeflag != DIRECTORY:
            mtime = _ns(member.mtime)
            os.utime(path, ns=(mtime, mtime), follow_symlinks=False)

    def _xattrs(self, target: int | str, member: Member) -> None:
        for key, value in member.xattrs.items():
            if key.startswith(_DROPPED_XATTRS):
                continue
            try:
                if isinstance(target, int):
                    os.setxattr(target, key, value)
                else:
                    os.setxattr(target, key, value, follow_symlinks=False)
            except OSError as error:
                # Filesystems without xattrs, user.* on symlinks: moby and containerd skip.
                if error.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
                    raise

    def finish(self) -> None:
        """Directory times last: creating entries inside changed them."""
        for path, mtime in reversed(self._dir_times):
            os.utime(path, ns=(mtime, mtime), follow_symlinks=False)


def _ns(mtime: float) -> int:
    return int(mtime) * 1_000_000_000 if mtime == int(mtime) else int(mtime * 1e9)
