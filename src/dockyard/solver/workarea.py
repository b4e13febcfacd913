"""Scratch space of a build: upper/work/merged directories and the mounts on them.

Everything a build creates outside the content store lives in
``<store>/builds/<build-id>/`` with an ``owner`` file (pid and start time). A build
that ends removes its directory; one that was killed (``kill -9``) leaves it, and
``cleanup_stale`` — run at the start of every build and by ``system check`` — unmounts
whatever is still mounted below a dead owner's directory, removes it, and removes
runc containers and bundles of dead owners.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

MNT_DETACH = 0x2


def builds_dir(root: Path) -> Path:
    return root / "builds"


def _identity() -> str:
    """``pid:starttime``, the owner format of the runtime's bundles (runc.process_identity)."""
    pid = os.getpid()
    try:
        with open(f"/proc/{pid}/stat") as source:
            text = source.read()
    except OSError:
        return str(pid)
    return f"{pid}:{text[text.rfind(')') + 2 :].split()[19]}"


def _mounts_below(path: Path) -> list[str]:
    """Mount points at or below ``path``, deepest first (from /proc/self/mountinfo)."""
    prefix = os.path.realpath(path)
    found = []
    try:
        with open("/proc/self/mountinfo") as info:
            for line in info:
                mount_point = line.split()[4]
                if "\\" in mount_point:  # octal escapes of spaces and the like
                    mount_point = mount_point.encode().decode("unicode_escape")
                if mount_point == prefix or mount_point.startswith(prefix + "/"):
                    found.append(mount_point)
    except OSError:
        return []
    return sorted(found, key=len, reverse=True)


def force_unmount(path: str) -> None:
    """Unmount ``path``; if it is busy, detach it lazily (it is going away)."""
    import ctypes  # only when something must be unmounted: keeps every command's start light

    libc = ctypes.CDLL(None, use_errno=True)  # libc is linked in: no find_library fork
    if libc.umount2(path.encode(), 0) != 0:
        libc.umount2(path.encode(), MNT_DETACH)


def remove_tree(path: Path) -> None:
    """Unmount everything below ``path``, then delete it. Never deletes through a mount."""
    for mount_point in _mounts_below(path):
        force_unmount(mount_point)
    if _mounts_below(path):
        return  # something refuses to go away: leave the files rather than delete below
    shutil.rmtree(path, ignore_errors=True)


class WorkArea:
    """A build's private directory under the store root."""

    def __init__(self, root: Path) -> None:
        self.path = builds_dir(root) / ("b" + os.urandom(8).hex())
        self.path.mkdir(parents=True)
        (self.path / "owner").write_text(_identity())
        self._counter = 0

    def new_dir(self, prefix: str) -> Path:
        self._counter += 1
        path = self.path / f"{prefix}{self._counter}"
        path.mkdir()
        return path

    def close(self) -> None:
        remove_tree(self.path)


def _has_entries(path: Path) -> bool:
    try:
        with os.scandir(path) as entries:
            return next(entries, None) is not None
    except OSError:
        return False


def cleanup_stale(root: Path) -> list[str]:
    """Remove what killed builds left: mounts, work directories, runc containers."""
    runc = root / "runc"
    if not (
        _has_entries(builds_dir(root))
        or _has_entries(runc / "state")
        or _has_entries(runc / "bundles")
    ):
        return []  # the common case, answered without starting runc
    from dockyard.runtime.executor import cleanup_stale as cleanup_containers
    from dockyard.runtime.runc import owner_alive

    removed = list(cleanup_containers(root))
    directory = builds_dir(root)
    if not directory.is_dir():
        return removed
    for entry in directory.iterdir():
        try:
            owner = (entry / "owner").read_text().strip()
        except OSError:
            owner = ""
        if owner and owner_alive(owner):
            continue
        remove_tree(entry)
        removed.append(str(entry))
    return removed


@contextlib.contextmanager
def mounted(
    area: WorkArea, lowers: Sequence[Path], *, writable: bool = True
) -> Iterator[tuple[Path, Path | None]]:
    """An overlay of ``lowers`` (base first); writable with a fresh upper dir.

    Yields (merged, upper). The caller reads the upper dir after the block ends and
    the overlay is unmounted.
    """
    from dockyard.fs.snapshot import mount_overlay

    base = area.new_dir("s")
    merged = base / "merged"
    merged.mkdir()
    upper: Path | None = None
    if writable:
        upper = base / "upper"
        work = base / "work"
        upper.mkdir()
        work.mkdir()
        if not lowers:
            empty = base / "empty"
            empty.mkdir()
            lowers = [empty]
        mount_overlay(lowers, merged, upper=upper, work=work, volatile=True)
    elif lowers:
        mount_overlay(lowers, merged)
    try:
        yield merged, upper
    finally:
        if lowers:
            force_unmount(str(merged))
        if writable:  # a container may have left mounts below; nothing mounts on a read-only view
            for mount_point in _mounts_below(merged):
                force_unmount(mount_point)
        shutil.rmtree(base / "work", ignore_errors=True)
