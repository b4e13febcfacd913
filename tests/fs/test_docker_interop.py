"""Our layers through Docker's own tar code: write -> docker import -> docker export -> unpack."""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import pytest
from fs_helpers import inventory, make_rich_tree

from dockyard.fs import unpack_layer, write_layer

pytestmark = pytest.mark.interop
DOCKER = "/usr/bin/docker"


def _docker(*args: str) -> str:
    result = subprocess.run([DOCKER, *args], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _capability_only(tree: dict[str, tuple[object, ...]]) -> dict[str, tuple[object, ...]]:
    """moby's tar writer keeps security.capability and drops every other xattr."""
    result = {}
    for name, info in tree.items():
        xattrs = tuple(pair for pair in info[5] if pair[0] == "security.capability")  # type: ignore[attr-defined]
        result[name] = (*info[:5], xattrs, *info[6:])
    return result


def test_docker_reads_and_rewrites_our_layer_faithfully(tmp_path: Path) -> None:
    source = tmp_path / "source"
    make_rich_tree(source / "rich")
    os.unlink(source / "rich/dev/log")  # a socket: never part of a layer
    layer = tmp_path / "layer.tgz"
    with open(layer, "wb") as out:
        write_layer(source, out)
    name = f"dockyard-fs-interop-{secrets.token_hex(4)}:latest"
    container = ""
    try:
        _docker("import", str(layer), name)
        container = _docker("create", "--network", "none", name, "/nothing")
        exported = tmp_path / "exported.tar"
        _docker("export", "-o", str(exported), container)
        target = tmp_path / "target"
        target.mkdir()
        with open(exported, "rb") as stream:
            unpack_layer(stream, target)
    finally:
        if container:
            subprocess.run([DOCKER, "rm", "-f", container], capture_output=True, check=False)
        subprocess.run([DOCKER, "rmi", "-f", name], capture_output=True, check=False)
    assert _capability_only(inventory(target / "rich")) == _capability_only(
        inventory(source / "rich")
    )
