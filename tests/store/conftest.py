"""A private store per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.store import Store, validate_image


def validate_all(root: Path) -> None:
    """validate_image on every image a test left in its store."""
    if not (root / "index.json").exists():
        return
    with Store.open(root) as store:
        for image in store.images():
            validate_image(store, image)


@pytest.fixture
def store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Store]:
    with Store.open(tmp_path / "store") as opened:
        yield opened
    if request.node.get_closest_marker("corrupts_store") is None:
        validate_all(tmp_path / "store")
