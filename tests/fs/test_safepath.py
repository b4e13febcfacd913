"""resolve_in_root: symlinks resolved as if the root were /, never leaving it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.errors import UnpackError
from dockyard.fs import resolve_in_root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "usr/lib").mkdir(parents=True)
    (root / "etc").mkdir()
    os.symlink("usr/lib", root / "lib")  # relative
    os.symlink("/usr/lib", root / "abs-lib")  # absolute: re-rooted
    os.symlink("../../../../..", root / "etc/up")  # climbs: clamped at the root
    os.symlink("/etc/up/usr", root / "chain")
    os.symlink("self", root / "self")
    os.symlink("/nonexistent/x", root / "dangling")
    return root


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", ""),
        ("/", ""),
        ("usr/lib/x", "usr/lib/x"),
        ("/lib/x", "usr/lib/x"),
        ("abs-lib/x", "usr/lib/x"),
        ("etc/up", ""),
        ("etc/up/etc/passwd", "etc/passwd"),
        ("../../../etc/passwd", "etc/passwd"),
        ("chain/lib", "usr/lib"),
        ("dangling", "nonexistent/x"),
        ("missing/../usr", "usr"),
        ("./usr/./lib/", "usr/lib"),
    ],
)
def test_resolves_inside_the_root(root: Path, path: str, expected: str) -> None:
    assert resolve_in_root(root, path) == Path(root, expected)


def test_final_component_can_stay_unresolved(root: Path) -> None:
    assert resolve_in_root(root, "usr/../abs-lib", follow_final=False) == root / "abs-lib"
    assert resolve_in_root(root, "usr/../abs-lib") == root / "usr/lib"
    # ".." after a symlink climbs from the link's target, as the kernel does.
    assert resolve_in_root(root, "lib/../abs-lib", follow_final=False) == root / "usr/abs-lib"
    assert resolve_in_root(root, "etc/up", follow_final=False) == root / "etc/up"


def test_symlink_loops_are_errors(root: Path) -> None:
    with pytest.raises(UnpackError, match="too many levels"):
        resolve_in_root(root, "self/x")
