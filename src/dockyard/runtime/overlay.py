"""The container's root file system: an overlay of the image's layers (fs's
``mount_overlay``) and the container's own upper directory."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dockyard.errors import MountError


def is_mountpoint(path: Path) -> bool:
    target = str(path)
    with open("/proc/self/mountinfo") as mountinfo:
        return any(line.split()[4] == target for line in mountinfo)


def mount_rootfs(lowers: Sequence[Path], upper: Path, work: Path, target: Path) -> None:
    """Overlay with ``lowers`` in image order (base first) under ``upper``."""
    for directory in (upper, work, target):
        directory.mkdir(parents=True, exist_ok=True)
    from dockyard.fs import mount_overlay

    mount_overlay(lowers, target, upper=upper, work=work)


def unmount(target: Path) -> None:
    """Unmount the rootfs; lazily if something still holds it."""
    from dockyard.fs import unmount as fs_unmount

    try:
        fs_unmount(target)
    except MountError:
        if is_mountpoint(target):
            fs_unmount(target, detach=True)
