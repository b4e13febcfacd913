"""Fixtures for runtime tests: a busybox root file system, a private store, images."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import make_busybox_rootfs, store_image


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        pytest.fail("runtime tests need root (runc)")
    return make_busybox_rootfs(tmp_path / "rootfs")


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private dockyard store root for one test; containers a failed test left
    running are removed afterwards (so no supervisor outlives the test)."""
    store = tmp_path / "store"
    monkeypatch.setenv("DOCKYARD_ROOT", str(store))
    yield store
    from dockyard.runtime.containers import list_containers, remove
    from dockyard.runtime.executor import cleanup_stale

    for record, _ in list_containers(include_all=True):
        with contextlib.suppress(Exception):
            remove(record, force=True, volumes_too=True)
    cleanup_stale()


@pytest.fixture
def busybox(rootfs: Path, root: Path) -> str:
    """A busybox image named ``busybox-test`` in the test's store (CMD sh)."""
    store_image(root, "busybox-test", rootfs, env=("PATH=/bin",), cmd=("sh",))
    return "busybox-test"
