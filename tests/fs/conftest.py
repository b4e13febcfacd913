"""Fixtures for the fs tests (helpers live in fs_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fs_helpers import make_rich_tree


@pytest.fixture
def rich_tree(tmp_path: Path) -> Path:
    return make_rich_tree(tmp_path / "tree")
