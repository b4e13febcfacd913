"""Fixtures for runtime tests: a busybox root file system and a private store root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .helpers import make_busybox_rootfs


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
