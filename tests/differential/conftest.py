"""Fixtures of the differential suite: the busybox base in dockerd and in a dockyard store."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from images import (  # noqa: F401 (fixtures)
    BUSYBOX_IMAGE,
    busybox_docker_image,
    busybox_tarball,
    debian_tarball,
    node_debian_tarball,
    node_docker_image,
)

from .harness import DOCKER, DockyardStore


@pytest.fixture(scope="session")
def busybox_key(busybox_tarball: Path) -> str:  # noqa: F811
    """Part of the key of Docker's cached results: the base image's content and dockerd's
    version (another BuildKit may build differently)."""
    version = subprocess.run(
        [DOCKER, "version", "--format", "{{.Server.Version}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return hashlib.sha256(busybox_tarball.read_bytes() + version.encode()).hexdigest()


@pytest.fixture(scope="session")
def dockyard_store(
    tmp_path_factory: pytest.TempPathFactory,
    busybox_tarball: Path,  # noqa: F811
) -> DockyardStore:
    """A private dockyard store (DOCKYARD_ROOT) shared by the session's cases."""
    return DockyardStore(tmp_path_factory.mktemp("dockyard-root"), busybox_tarball, BUSYBOX_IMAGE)
