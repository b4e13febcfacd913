"""Shared fixtures. Paths to the shared conformance data and a private store root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# A byte-exact copy of ../shared/conformance lives in tests/data so that CI on a clean
# clone has it; DOCKYARD_CONFORMANCE points elsewhere to test against another copy.
CONFORMANCE = Path(
    os.environ.get("DOCKYARD_CONFORMANCE", REPO_ROOT / "tests" / "data" / "conformance")
)


@pytest.fixture
def conformance_dir() -> Path:
    if not CONFORMANCE.is_dir():
        pytest.fail(f"conformance data not found at {CONFORMANCE} (set DOCKYARD_CONFORMANCE)")
    return CONFORMANCE


@pytest.fixture
def store_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, private dockyard store for one test (DOCKYARD_ROOT)."""
    root = tmp_path / "store"
    monkeypatch.setenv("DOCKYARD_ROOT", str(root))
    return root
