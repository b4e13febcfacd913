"""A copy destination that records what a COPY would write, for writing its layer directly.

Copying 20,000 context files into an overlay upper directory, reading them back into
the layer tar and deleting the upper dir costs three times what the tar alone costs.
:class:`VirtualTarget` takes the copier's writes instead (``apply_copy(...,
target=VirtualTarget(...))``): lookups see the parent's filesystem (a read-only mount
of its layers) with this copy's own entries on top, and the result is the list of
entries the overlay upper dir would have held, with the same metadata: new entries as
the copier makes them, and the existing directories they land in "copied up" with
the parent's metadata (their mtime bumped where the copy added an entry, as the
kernel does).

A copy only adds and replaces entries: it never leaves a whiteout, and a directory it
creates over one a lower layer deleted needs no opaque marker (that layer's whiteout
still hides the old contents). Where this model would still differ from the overlay
(a whiteout visible in a single-layer parent, a non-directory changed in place, ADD's
archive unpacking), the target raises :class:`NotDirect` before anything is written
and the caller copies through an overlay as before.
"""

from __future__ import annotations

import os
import stat

from dockyard.errors import BuildError, DockyardError
from dockyard.fs.entries import Inode, LayerEntry
from dockyard.fs.layer import read_xattrs
from dockyard.fs.safepath import resolve_in_root
from dockyard.solver.fileops.users import Owner
from dockyard.solver.fileops.writes import Job


class NotDirect(DockyardError):
    """This copy needs a real overlay (the solver falls back to one; never shown)."""


class VirtualTarget:
    """Records a copy onto ``root`` (the parent's filesystem, read-only)."""

    parallel_writes = False

    def __init__(self, root: str, now_ns: int) -> None:
        self.root = os.path.abspath(root)
        self._now = now_ns
        self._nodes: dict[str, Inode] = {}
        self._fresh: set[str] = set()  # directories this copy created
        self._deleted: set[str] = set()  # parent entries this copy removed

    @staticmethod
    def cannot(reason: str) -> None:
        raise NotDirect(reason)

    # -- lookups -----------------------------------------------------------------

    def resolve(self, path: str) -> str:
        """``path`` in the root with symlinks followed, this copy's own ones included."""
        return str(resolve_in_root(self.root, path, lstat=self.lstat, readlink=self._readlink))

    def _readlink(self, path: str) -> str:
        node = self._nodes.get(_normal(path))
        return node.linkname if node is not None else os.readlink(path)

    def lstat(self, path: str) -> os.stat_result:
        path = _normal(path)
        node = self._nodes.get(path)
        if node is not None:
            return _fake_stat(node)
        if path in self._deleted:
            raise FileNotFoundError(path)
        self._check_parents(path)
        st = os.lstat(path)
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            self.cannot("an overlay whiteout in the parent's layers")
        return st

    def stat(self, path: str) -> os.stat_result:
        st = self.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            self.cannot("the destination is a symlink")
        return st

    def _check_parents(self, path: str) -> None:
        parent = os.path.dirname(path)
        while len(parent) > len(self.root):
            node = self._nodes.get(parent)
            if node is not None:
                if not stat.S_ISDIR(node.mode):
                    raise NotADirectoryError(path)
                if parent in self._fresh:
                    raise FileNotFoundError(path)
                return
            if parent in self._deleted:
                raise FileNotFoundError(path)
            parent = os.path.dirname(parent)

    # -- directories -------------------------------------------------------------

    def mkdir_all(self, path: str, owner: Owner | None) -> None:
        """fsutil's MkdirAll, like :func:`~dockyard.solver.fileops.writes.mkdir_all`."""
        path = _normal(path)
        try:
            st: os.stat_result | None = self.stat(path)
        except FileNotFoundError:
            st = None
        except NotADirectoryError as error:
            raise BuildError(
                f"cannot create directory {path}: a parent is not a directory"
            ) from error
        if st is not None:
            if not stat.S_ISDIR(st.st_mode):
                raise BuildError(f"cannot create directory {path}: a file is in the way")
            return
        parent = os.path.dirname(path)
        if parent != path:
            self.mkdir_all(parent, owner)
        uid, gid = (owner.uid, owner.gid) if owner is not None else (0, 0)
        self._create(path, Inode(stat.S_IFDIR | 0o755, uid, gid, self._now))

    def mkdir(self, path: str) -> None:
        self._create(_normal(path), Inode(stat.S_IFDIR | 0o700, 0, 0, self._now))

    # -- other entries ---------------------------------------------------------------

    def write_files(self, jobs: list[Job]) -> None:
        for source, target, st, uid, gid, bits in jobs:
            inode = Inode(
                stat.S_IFREG | bits,
                uid,
                gid,
                st.st_mtime_ns,
                size=st.st_size,
                source=source,
                xattr_source=source,
            )
            self._create(_normal(target), inode)

    def write_inline(self, path: str, data: bytes, uid: int, gid: int, bits: int) -> None:
        inode = Inode(stat.S_IFREG | bits, uid, gid, self._now, size=len(data), data=data)
        self._create(_normal(path), inode)

    def symlink(self, linkname: str, path: str) -> None:
        inode = Inode(stat.S_IFLNK | 0o777, 0, 0, self._now, linkname=linkname)
        self._create(_normal(path), inode)

    def mknod(self, path: str, mode: int, rdev: int) -> None:
        self._create(_normal(path), Inode(mode, 0, 0, self._now, rdev=rdev))

    def link(self, first: str, path: str) -> None:
        inode = self._nodes[_normal(first)]
        self._create(_normal(path), inode)

    def unlink(self, path: str) -> None:
        path = _normal(path)
        self._touch(os.path.dirname(path))
        node = self._nodes.pop(path, None)
        if node is not None:
            node.links -= 1
        if os.path.lexists(path):
            self._deleted.add(path)

    # -- metadata ----------------------------------------------------------------

    def chmod(self, path: str, bits: int) -> None:
        node = self._node(_normal(path))
        node.mode = stat.S_IFMT(node.mode) | bits

    def set_info(
        self,
        path: str,
        uid: int,
        gid: int,
        bits: int | None,
        xattr_source: str,
        mtime: tuple[int, int],
    ) -> None:
        node = self._node(_normal(path))
        node.uid, node.gid = uid, gid
        if bits is not None:
            node.mode = stat.S_IFMT(node.mode) | bits
        if node.xattr_source is None and not node.xattrs:
            node.xattr_source = xattr_source
        else:  # the parent's own xattrs stay; the source's are added over them
            node.xattrs.update(read_xattrs(xattr_source)[1] or {})
        node.mtime_ns = mtime[1]

    def utime(self, path: str, mtime: tuple[int, int]) -> None:
        self._node(_normal(path)).mtime_ns = mtime[1]

    # -- the result ----------------------------------------------------------------

    def entries(self) -> list[LayerEntry]:
        """Every entry of the layer: what the copy made and the directories it is in."""
        if self._deleted:
            self.cannot("the copy removed an entry of the parent without replacing it")
        for path in list(self._nodes):
            parent = path.rpartition("/")[0]
            while len(parent) > len(self.root) and parent not in self._nodes:
                self._node(parent)
                parent = parent.rpartition("/")[0]
        start = len(self.root) + 1
        return [LayerEntry(path[start:], inode) for path, inode in self._nodes.items()]

    # -- helpers -------------------------------------------------------------------

    def _create(self, path: str, inode: Inode) -> None:
        parent = path.rpartition("/")[0]
        self._touch(parent)
        if stat.S_ISDIR(inode.mode):
            self._fresh.add(path)
        self._deleted.discard(path)
        previous = self._nodes.get(path)
        if previous is not None:
            previous.links -= 1
        inode.links += 1
        self._nodes[path] = inode

    def _touch(self, directory: str) -> None:
        """An entry was added to or removed from ``directory``: its mtime is now."""
        if len(directory) > len(self.root):
            self._node(directory).mtime_ns = self._now

    def _node(self, path: str) -> Inode:
        """The entry at ``path``; a parent's entry is copied up with its metadata."""
        node = self._nodes.get(path)
        if node is not None:
            return node
        st = os.lstat(path)
        if not stat.S_ISDIR(st.st_mode):
            self.cannot("the copy changes an existing non-directory in place")
        node = Inode(st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns, xattr_source=path)
        node.links = 1
        self._nodes[path] = node
        return node


def _normal(path: str) -> str:
    """``os.path.normpath`` for the copier's paths, which are nearly always normal already."""
    if "//" in path or "/." in path or path.endswith("/"):
        return os.path.normpath(path)
    return path


def _fake_stat(node: Inode) -> os.stat_result:
    return os.stat_result((node.mode, 0, 0, node.links, node.uid, node.gid, node.size, 0, 0, 0))
