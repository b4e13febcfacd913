"""``-v`` bind mounts, named and anonymous volumes (``<root>/volumes/NAME/_data``)."""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path

from dockyard.errors import RuntimeError_, UsageError
from dockyard.runtime import paths
from dockyard.runtime.records import MountRecord

_VOLUME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HINT = "use -v /host/path:/container/path[:ro], -v NAME:/container/path or -v /container/path"


def volume_path(name: str, root: Path | None = None) -> Path:
    return paths.volumes_dir(root) / name / "_data"


def _container_path(path: str, spec: str) -> str:
    if not path.startswith("/"):
        raise UsageError(f"invalid -v {spec!r}: {path!r} is not an absolute path", _HINT)
    return os.path.normpath(path)


def parse_volume(spec: str, root: Path | None = None) -> MountRecord:
    """One ``-v``; a named volume is created if it does not exist yet."""
    parts = spec.split(":")
    mode = ""
    if len(parts) == 3 or (len(parts) == 2 and parts[1] in ("ro", "rw")):
        mode = parts.pop()
    if mode not in ("", "ro", "rw"):
        raise UsageError(f"invalid -v {spec!r}: unknown mode {mode!r}", _HINT)
    readonly = mode == "ro"
    if len(parts) == 1:
        name = secrets.token_hex(32)
        destination = _container_path(parts[0], spec)
        volume_path(name, root).mkdir(parents=True)
        return MountRecord(
            "volume", str(volume_path(name, root)), destination, readonly, name, True
        )
    if len(parts) != 2 or not parts[0]:
        raise UsageError(f"invalid -v {spec!r}", _HINT)
    source, destination = parts[0], _container_path(parts[1], spec)
    if source.startswith("/") or source.startswith("."):
        host = Path(source).resolve()
        if not host.exists():
            raise RuntimeError_(
                f"invalid mount config: bind source path does not exist: {source}",
                "create the host directory first, or use a named volume",
            )
        return MountRecord("bind", str(host), destination, readonly)
    if not _VOLUME_NAME.match(source):
        raise UsageError(f"invalid volume name {source!r} in -v {spec!r}", _HINT)
    volume_path(source, root).mkdir(parents=True, exist_ok=True)
    return MountRecord("volume", str(volume_path(source, root)), destination, readonly, source)


def anonymous_volume(destination: str, root: Path | None = None) -> MountRecord:
    name = secrets.token_hex(32)
    volume_path(name, root).mkdir(parents=True)
    return MountRecord("volume", str(volume_path(name, root)), destination, False, name, True)


def copy_up(rootfs_path: Path, volume: Path) -> None:
    """A new, empty volume starts with what the image has at its mount point."""
    if not rootfs_path.is_dir() or rootfs_path.is_symlink() or any(volume.iterdir()):
        return
    shutil.copytree(rootfs_path, volume, symlinks=True, dirs_exist_ok=True)
    # copytree keeps modes and times; owners matter too (a volume for a service user).
    for directory, names, files in os.walk(rootfs_path):
        relative = os.path.relpath(directory, rootfs_path)
        for name in [".", *names, *files]:
            source = os.path.join(directory, name)
            info = os.lstat(source)
            os.lchown(os.path.join(volume, relative, name), info.st_uid, info.st_gid)


def remove_volume(name: str, root: Path | None = None) -> None:
    shutil.rmtree(paths.volumes_dir(root) / name, ignore_errors=True)


def list_volumes(root: Path | None = None) -> list[str]:
    base = paths.volumes_dir(root)
    return sorted(entry.name for entry in base.iterdir()) if base.is_dir() else []
