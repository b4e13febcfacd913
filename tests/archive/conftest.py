"""Fixtures of the archive tests: a private store, a busybox tree and image."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.store import Store

from .helpers import busybox_tree, dockyard, validate_all


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    """The test's store root; every image left in it is validated at teardown."""
    yield tmp_path / "store"
    validate_all(tmp_path / "store")
    for other in tmp_path.glob("other*"):
        validate_all(other)


@pytest.fixture
def store(root: Path) -> Iterator[Store]:
    with Store.open(root) as opened:
        yield opened


@pytest.fixture
def busybox_dir(tmp_path: Path) -> Path:
    return busybox_tree(tmp_path / "rootfs", {"etc/greeting": b"hello from dockyard\n"})


@pytest.fixture
def busybox_image(root: Path, busybox_dir: Path) -> str:
    """``dyst-busybox:1`` in the test's store, imported from ``busybox_dir``."""
    dockyard(
        "import",
        str(busybox_dir),
        "dyst-busybox:1",
        "--change",
        'CMD ["cat", "/etc/greeting"]',
        root=root,
    )
    return "dyst-busybox:1"
