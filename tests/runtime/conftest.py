"""Fixtures for runtime tests: a busybox root file system, a private store, images."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .helpers import make_busybox_rootfs, store_image


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        pytest.fail("runtime tests need root (runc)")
    return make_busybox_rootfs(tmp_path / "rootfs")


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private dockyard store root for one test."""
    store = tmp_path / "store"
    monkeypatch.setenv("DOCKYARD_ROOT", str(store))
    return store


@pytest.fixture
def busybox(rootfs: Path, root: Path) -> str:
    """A busybox image named ``busybox-test`` in the test's store (CMD sh)."""
    store_image(root, "busybox-test", rootfs, env=("PATH=/bin",), cmd=("sh",))
    return "busybox-test"
