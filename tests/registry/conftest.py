"""A registry on 127.0.0.1:5000 (scripts/services) and a busybox image to push."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest

from images import busybox_tarball  # noqa: F401 (fixture)

REGISTRY = "127.0.0.1:5000"
REPO_ROOT = Path(__file__).resolve().parents[2]


def _registry_up() -> bool:
    try:
        with urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="session")
def registry() -> str:
    if not _registry_up():
        subprocess.run([str(REPO_ROOT / "scripts" / "services")], check=True)
    assert _registry_up(), f"no registry on {REGISTRY} after scripts/services"
    return REGISTRY


@pytest.fixture
def repo(registry: str) -> str:
    """A repository name no other test uses."""
    return f"{registry}/dockyard-test/{uuid.uuid4().hex[:12]}"


def dockyard(*args: str, root: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "DOCKYARD_ROOT": str(root)}
    result = subprocess.run(
        [sys.executable, "-m", "dockyard", *args], env=env, capture_output=True, text=True
    )
    if check and result.returncode != 0:
        raise AssertionError(f"dockyard {' '.join(args)} failed:\n{result.stderr}")
    return result


@pytest.fixture
def busybox_root(tmp_path: Path, busybox_tarball: Path) -> Path:  # noqa: F811
    """A store holding the busybox test image as ``busybox:latest``."""
    root = tmp_path / "source-store"
    dockyard("import", str(busybox_tarball), "busybox:latest", root=root)
    return root
