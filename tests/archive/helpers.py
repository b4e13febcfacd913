"""Helpers for archive tests: the CLI in a subprocess, busybox trees, tree snapshots."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import subprocess
import sys
import tarfile
from collections.abc import Mapping
from pathlib import Path

from dockyard.store import Store, validate_image

BUSYBOX = Path("/bin/busybox")
APPLETS = ("sh", "echo", "cat", "ls", "true", "env")

# A tree entry: (kind, mode, uid, gid, content digest / link target / "").
Entry = tuple[str, int, int, int, str]


def validate_all(root: Path) -> None:
    """validate_image on every image a test left in a store."""
    if not (root / "index.json").exists():
        return
    with Store.open(root) as store:
        for image in store.images():
            validate_image(store, image)


def dockyard(
    *args: str, root: Path, input: bytes | None = None, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "DOCKYARD_ROOT": str(root)}
    result = subprocess.run(
        [sys.executable, "-m", "dockyard", *args],
        input=input,
        capture_output=True,
        env=env,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"dockyard {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stderr.decode(errors='replace')}"
        )
    assert b"Traceback" not in result.stderr, result.stderr.decode(errors="replace")
    return result


def busybox_tree(target: Path, extra: Mapping[str, bytes] = {}) -> Path:
    """A minimal root: /bin/busybox with applet symlinks, /etc, /tmp and extra files."""
    (target / "bin").mkdir(parents=True)
    (target / "etc").mkdir()
    (target / "tmp").mkdir(mode=0o1777)
    os.chmod(target / "tmp", 0o1777)
    (target / "bin" / "busybox").write_bytes(BUSYBOX.read_bytes())
    os.chmod(target / "bin" / "busybox", 0o755)
    for applet in APPLETS:
        (target / "bin" / applet).symlink_to("busybox")
    (target / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    for name, content in extra.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return target


def tree_of_dir(root: Path) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory, name)
            info = path.lstat()
            relative = str(path.relative_to(root))
            mode = stat.S_IMODE(info.st_mode)
            if stat.S_ISLNK(info.st_mode):
                entries[relative] = ("symlink", 0, info.st_uid, info.st_gid, os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                entries[relative] = ("dir", mode, info.st_uid, info.st_gid, "")
            elif stat.S_ISREG(info.st_mode):
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                entries[relative] = ("file", mode, info.st_uid, info.st_gid, digest)
            else:
                entries[relative] = ("other", mode, info.st_uid, info.st_gid, str(info.st_rdev))
    return entries


def tree_of_tar(data: bytes) -> dict[str, Entry]:
    """A tar's tree (the final state: later entries win; hard links take their target)."""
    entries: dict[str, Entry] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar:
            name = member.name.removeprefix("./").rstrip("/")
            if not name or name == ".":
                continue
            mode = member.mode & 0o7777
            if member.issym():
                entries[name] = ("symlink", 0, member.uid, member.gid, member.linkname)
            elif member.isdir():
                entries[name] = ("dir", mode, member.uid, member.gid, "")
            elif member.islnk():
                target = entries[member.linkname.removeprefix("./")]
                entries[name] = ("file", mode, member.uid, member.gid, target[4])
            elif member.isfile():
                source = tar.extractfile(member)
                assert source is not None
                digest = hashlib.sha256(source.read()).hexdigest()
                entries[name] = ("file", mode, member.uid, member.gid, digest)
            else:
                entries[name] = ("other", mode, member.uid, member.gid, "")
    return entries


def tar_of_dir(root: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(os.listdir(root)):
            tar.add(root / name, arcname=name)
    return buffer.getvalue()
