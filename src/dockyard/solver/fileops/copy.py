"""COPY/ADD, step two: write a :class:`CopyPlan` into a root filesystem.

This follows fsutil's copier (BuildKit's file backend) rule for rule:

- the destination is resolved inside ``dest_root`` with symlinks followed
  (``fs.safepath``), its parents created (0755, owned by ``--chown`` or root);
- a file copied onto an existing directory lands inside it; a directory source is
  copied by content; a missing destination is created;
- below the destination nothing is followed: an existing symlink or file in the way
  of a file is replaced, a non-directory in the way of a directory is an error;
- entries keep their mode (``--chmod`` applied), owner (0:0 from the context, kept
  from a stage, or ``--chown``), mtime, xattrs and hard links; directory metadata is
  set after their contents, so directory mtimes survive.

File data moves with ``copy_file_range`` (in-kernel, reflinks where the filesystem
can) on a small thread pool; Python touches no file bytes.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import BuildError
from dockyard.solver.fileops.plan import CopyAction, CopyPlan, pattern_matcher
from dockyard.solver.fileops.tree import SourceTree, join
from dockyard.solver.fileops.users import Owner, resolve_chown
from dockyard.solver.fileops.writes import DiskTarget, Job

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

    from dockyard.solver.fileops.chmod import ModeChange
    from dockyard.solver.fileops.virtual import VirtualTarget

    CopyTarget = DiskTarget | VirtualTarget

COPY_WORKERS = 2
_CHUNK = 1 << 30

Matcher = Callable[[str], bool]


@dataclass
class CopyStats:
    files: int = 0
    directories: int = 0
    symlinks: int = 0
    bytes: int = 0
    unpacked: int = 0


def apply_copy(
    plan: CopyPlan,
    dest_root: Path,
    *,
    user_root: Path | None = None,
    use_user_root: bool = False,
    target: CopyTarget | None = None,
) -> CopyStats:
    """Write ``plan`` into ``dest_root`` (the step's root filesystem view).

    ``--chown`` names are looked up in ``user_root``'s /etc/passwd and /etc/group;
    by default that is ``dest_root`` itself (the target image). Pass
    ``use_user_root=True`` with ``user_root=None`` for "no image" (scratch).
    ``target`` receives the writes (default: ``dest_root`` on disk); a
    :class:`~dockyard.solver.fileops.virtual.VirtualTarget` only records them.
    """
    owner: Owner | None = None
    if plan.spec.chown:
        lookup_root = user_root if (use_user_root or user_root is not None) else dest_root
        owner = resolve_chown(plan.spec.chown, lookup_root)
    stats = CopyStats()
    exclude = pattern_matcher(plan.spec.excludes)
    root = os.path.abspath(dest_root)
    fs = target if target is not None else DiskTarget(root)
    try:
        for action in plan.actions:
            if action.unpack:
                if not isinstance(fs, DiskTarget):
                    fs.cannot("ADD unpacks an archive")
                from dockyard.solver.fileops.archive import unpack_if_archive

                if unpack_if_archive(action, plan.dest_path, root, owner, stats):
                    continue
            _Copier(root, fs, owner, plan.mode, exclude, stats).copy_action(action, plan.dest_path)
    except OSError as error:
        where = f": {error.filename}" if error.filename else ""
        raise BuildError(
            f"{'ADD' if plan.spec.add else 'COPY'} failed: {error.strerror}{where}"
        ) from error
    return stats


@dataclass
class _DirMeta:
    target: str
    st: os.stat_result
    tree: SourceTree
    source: str
    full: bool  # False: only restore the timestamps (an existing top-level directory)


@dataclass
class _Pending:
    """A directory not (yet) created because include/exclude patterns skipped it."""

    source: str
    target: str
    tree: SourceTree
    overwrite: bool
    done: bool = False


_BATCH = 128


@dataclass
class _Copier:
    dest_root: str
    fs: CopyTarget
    owner: Owner | None
    mode: ModeChange | None
    exclude: Matcher | None
    stats: CopyStats
    include: Matcher | None = None
    inodes: dict[tuple[int, int], str] = field(default_factory=dict)
    dirs: list[_DirMeta] = field(default_factory=list)
    hardlinks: list[tuple[str, str, os.stat_result]] = field(default_factory=list)
    jobs: list[Future[None]] = field(default_factory=list)
    batch: list[Job] = field(default_factory=list)
    pending_parents: list[_Pending] = field(default_factory=list)
    pool: ThreadPoolExecutor | None = None

    # -- entry point ---------------------------------------------------------------

    def copy_action(self, action: CopyAction, dest_path: str) -> None:
        """fsutil ``Copy(srcRoot, src, dstRoot, dst)`` for one resolved source."""
        self.include = pattern_matcher(action.include)
        head, tail = posixpath.split(dest_path)
        ensure = head if tail and tail != "." else dest_path
        self.fs.mkdir_all(self.fs.resolve(ensure), self.owner)
        target = self.fs.resolve(posixpath.normpath(dest_path))
        tree = action.tree
        if action.data is not None:
            self._copy_inline(action, target)
            return
        if action.follow_links:
            source = tree.resolve(action.source)
        else:
            parent, _, name = action.source.rpartition("/")
            source = join(tree.resolve(parent), name) if name else tree.resolve(parent)
        source_st = tree.lstat(source)
        if source_st is None:
            raise BuildError(f'"/{action.source}": not found')
        target = self._prepare_target(source_st, action.source, target, action.dir_contents)
        parallel = COPY_WORKERS > 1 and self.fs.parallel_writes
        if parallel:  # only a copy onto disk writes in parallel (and needs the import)
            from concurrent.futures import ThreadPoolExecutor

            self.pool = ThreadPoolExecutor(COPY_WORKERS)
        else:
            self.pool = None
        try:
            self._copy(tree, source, "", target, overwrite=False, fresh=False)
            self._finish()
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True, cancel_futures=True)

    def _prepare_target(
        self, source_st: os.stat_result, source_name: str, target: str, dir_contents: bool
    ) -> str:
        try:
            dest_st: os.stat_result | None = self.fs.stat(target)
        except (FileNotFoundError, NotADirectoryError):
            dest_st = None
        source_is_dir = stat.S_ISDIR(source_st.st_mode)
        if dest_st is not None and (
            (not dir_contents and source_is_dir)
            or (not source_is_dir and stat.S_ISDIR(dest_st.st_mode))
        ):
            target = os.path.join(target, posixpath.basename(source_name) or "")
        parent = os.path.dirname(target)
        if dir_contents and source_is_dir and dest_st is None:
            parent = target
        self.fs.mkdir_all(parent, self.owner)
        return target

    # -- the recursive copy ----------------------------------------------------------

    def _copy(
        self,
        tree: SourceTree,
        source: str,
        components: str,
        target: str,
        *,
        overwrite: bool,
        fresh: bool,
    ) -> None:
        st = tree.lstat(source)
        if st is None:
            raise BuildError(f'"/{source}": not found')
        include = True
        if components:
            if self.include is not None and not self.include(components):
                include = False
            if self.exclude is not None and self.exclude(components):
                include = False
        target_st: os.stat_result | None = None
        if not fresh:
            try:
                target_st = self.fs.lstat(target)
            except FileNotFoundError:
                target_st = None
            except NotADirectoryError as error:
                raise BuildError(f"cannot copy to {self._show(target)}: not a directory") from error
        if include:
            self._create_parents()
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            self._copy_directory(
                tree, source, components, target, st, target_st, overwrite, include
            )
            return
        if not include:
            return
        if target_st is not None:
            if stat.S_ISDIR(target_st.st_mode):
                raise BuildError(
                    f"cannot replace directory {self._show(target)} with a file",
                    "COPY cannot overwrite a directory with a file of the same name",
                )
            self.fs.unlink(target)
        if stat.S_ISREG(mode):
            self._copy_file(tree, source, target, st)
        elif stat.S_ISLNK(mode):
            self.fs.symlink(tree.readlink(source), target)
            self._set_info(tree, source, target, st, is_link=True)
            self.stats.symlinks += 1
        else:
            self.fs.mknod(target, mode, st.st_rdev)
            self._set_info(tree, source, target, st)

    def _copy_directory(
        self,
        tree: SourceTree,
        source: str,
        components: str,
        target: str,
        st: os.stat_result,
        target_st: os.stat_result | None,
        overwrite: bool,
        include: bool,
    ) -> None:
        created = False
        if include:
            created = self._directory_only(target, target_st, st, overwrite)
        else:
            self.pending_parents.append(_Pending(source, target, tree, overwrite))
        depth = len(self.pending_parents)
        children_fresh = created
        for name in tree.children(source):
            self._copy(
                tree,
                join(source, name),
                join(components, name),
                os.path.join(target, name),
                overwrite=True,
                fresh=children_fresh,
            )
        if not include:
            del self.pending_parents[depth - 1 :]
        if include:
            if overwrite or created:
                self.dirs.append(_DirMeta(target, st, tree, source, full=True))
            elif target_st is not None:
                self.dirs.append(_DirMeta(target, st, tree, source, full=False))

    def _directory_only(
        self, target: str, target_st: os.stat_result | None, st: os.stat_result, overwrite: bool
    ) -> bool:
        if target_st is None:
            self.fs.mkdir(target)
            self.stats.directories += 1
            return True
        if not stat.S_ISDIR(target_st.st_mode):
            raise BuildError(
                f"cannot copy a directory to {self._show(target)}: it is not a directory",
                "a file or symlink of that name already exists in the image",
            )
        if overwrite:
            self.fs.chmod(target, stat.S_IMODE(st.st_mode))
        return False

    def _create_parents(self) -> None:
        """Directories skipped by include/exclude get created once something inside is kept."""
        for pending in self.pending_parents:
            if pending.done:
                continue
            st = pending.tree.lstat(pending.source)
            if st is None:
                raise BuildError(f'"/{pending.source}": not found')
            try:
                target_st: os.stat_result | None = self.fs.lstat(pending.target)
            except FileNotFoundError:
                target_st = None
            if self._directory_only(pending.target, target_st, st, pending.overwrite):
                self.dirs.append(_DirMeta(pending.target, st, pending.tree, pending.source, True))
            pending.done = True

    def _show(self, target: str) -> str:
        return "/" + os.path.relpath(target, self.dest_root).lstrip("./")

    # -- leaves ----------------------------------------------------------------------

    def _copy_file(self, tree: SourceTree, source: str, target: str, st: os.stat_result) -> None:
        if st.st_nlink > 1:
            key = (st.st_dev, st.st_ino)
            first = self.inodes.get(key)
            if first is not None:
                self.hardlinks.append((first, target, st))
                return
            self.inodes[key] = target
        uid, gid = self._owner_of(tree, st)
        bits = self._mode_of(st)
        job = (tree.disk_path(source), target, st, uid, gid, bits)
        self.stats.files += 1
        self.stats.bytes += st.st_size
        if self.pool is None:
            self.fs.write_files([job])
            return
        self.batch.append(job)
        if len(self.batch) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if self.batch and self.pool is not None:
            self.jobs.append(self.pool.submit(self.fs.write_files, self.batch))
            self.batch = []

    def _copy_inline(self, action: CopyAction, target: str) -> None:
        data = action.data or b""
        try:
            dest_st: os.stat_result | None = self.fs.stat(target)
        except (FileNotFoundError, NotADirectoryError):
            dest_st = None
        if dest_st is not None and stat.S_ISDIR(dest_st.st_mode):
            target = os.path.join(target, posixpath.basename(action.source))
        self.fs.mkdir_all(os.path.dirname(target), self.owner)
        try:
            existing = self.fs.lstat(target)
        except FileNotFoundError:
            existing = None
        if existing is not None:
            if stat.S_ISDIR(existing.st_mode):
                raise BuildError(f"cannot replace directory {self._show(target)} with a file")
            self.fs.unlink(target)
        owner = self.owner or Owner(0, 0)
        bits = self.mode.apply(stat.S_IFREG | 0o644) if self.mode else 0o644
        self.fs.write_inline(target, data, owner.uid, owner.gid, bits)
        self.stats.files += 1
        self.stats.bytes += len(data)

    def _owner_of(self, tree: SourceTree, st: os.stat_result) -> tuple[int, int]:
        if self.owner is not None:
            return self.owner.uid, self.owner.gid
        return tree.owner(st)

    def _mode_of(self, st: os.stat_result) -> int:
        if self.mode is not None:
            return self.mode.apply(st.st_mode)
        return stat.S_IMODE(st.st_mode)

    def _set_info(
        self, tree: SourceTree, source: str, target: str, st: os.stat_result, is_link: bool = False
    ) -> None:
        uid, gid = self._owner_of(tree, st)
        bits = None if is_link else self._mode_of(st)
        times = (st.st_atime_ns, st.st_mtime_ns)
        self.fs.set_info(target, uid, gid, bits, tree.disk_path(source), times)

    def _finish(self) -> None:
        self._flush()
        for job in self.jobs:
            job.result()
        self.jobs.clear()
        for first, target, _st in self.hardlinks:
            self.fs.link(first, target)
        for meta in reversed(self.dirs):
            if meta.full:
                self._set_info(meta.tree, meta.source, meta.target, meta.st)
            else:
                self.fs.utime(meta.target, (meta.st.st_atime_ns, meta.st.st_mtime_ns))
        self.dirs.clear()
