"""Fixtures of the differential suite: the busybox base in dockerd and in a dockyard store."""

from __future__ import annotations

import hashlib
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

from .harness import DockyardStore


@pytest.fixture(scope="session")
def busybox_key(busybox_tarball: Path) -> str:  # noqa: F811
    """Content hash of the base image: part of the key of Docker's cached results."""
    return hashlib.sha256(busybox_tarball.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def dockyard_store(
    tmp_path_factory: pytest.TempPathFactory,
    busybox_tarball: Path,  # noqa: F811
) -> DockyardStore:
    """A private dockyard store (DOCKYARD_ROOT) shared by the session's cases."""
    return DockyardStore(tmp_path_factory.mktemp("dockyard-root"), busybox_tarball, BUSYBOX_IMAGE)
