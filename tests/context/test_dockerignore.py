"""The context as the build sees it: .dockerignore applied before any COPY."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.errors import BuildError
from dockyard.solver.context import open_context
from dockyard.solver.fileops.copy import apply_copy
from dockyard.solver.fileops.plan import CopySpec, prepare_copy


def _make(base: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _copy_all(context: Path, root: Path, dockerfile: Path | None = None) -> set[str]:
    tree, hasher = open_context(context, dockerfile)
    apply_copy(prepare_copy(CopySpec((".",), "/"), tree, hasher=hasher), root)
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_ignored_files_are_not_in_the_context(tmp_path: Path) -> None:
    context = tmp_path / "ctx"
    _make(
        context,
        {
            ".dockerignore": "node_modules\n*.log\n!keep.log\n",
            "server.js": "s",
            "debug.log": "d",
            "keep.log": "k",
            "node_modules/express/index.js": "e",
        },
    )
    copied = _copy_all(context, tmp_path / "root")
    assert copied == {".dockerignore", "server.js", "keep.log"}


def test_an_ignored_source_is_not_found(tmp_path: Path) -> None:
    context = tmp_path / "ctx"
    _make(context, {".dockerignore": "secret.txt\n", "secret.txt": "s"})
    tree, hasher = open_context(context)
    with pytest.raises(BuildError, match="not found") as raised:
        prepare_copy(CopySpec(("secret.txt",), "/"), tree, hasher=hasher)
    assert ".dockerignore" in (raised.value.hint or "")


def test_exception_inside_an_ignored_directory(tmp_path: Path) -> None:
    context = tmp_path / "ctx"
    _make(context, {".dockerignore": "build\n!build/keep\n", "build/keep": "k", "build/x": "x"})
    copied = _copy_all(context, tmp_path / "root")
    assert "build/keep" in copied and "build/x" not in copied


def test_editing_an_ignored_file_keeps_the_checksum(tmp_path: Path) -> None:
    context = tmp_path / "ctx"
    _make(context, {".dockerignore": "*.log\n", "app.js": "a", "x.log": "1"})
    tree, hasher = open_context(context)
    before = prepare_copy(CopySpec((".",), "/"), tree, hasher=hasher).checksum
    (context / "x.log").write_text("2")
    tree, hasher = open_context(context)
    assert prepare_copy(CopySpec((".",), "/"), tree, hasher=hasher).checksum == before


def test_dockerfile_specific_ignore_file_wins(tmp_path: Path) -> None:
    context = tmp_path / "ctx"
    _make(
        context,
        {
            ".dockerignore": "a\n",
            "build/Dockerfile": "FROM scratch\n",
            "build/Dockerfile.dockerignore": "b\n",
            "a": "A",
            "b": "B",
        },
    )
    copied = _copy_all(context, tmp_path / "root", context / "build/Dockerfile")
    assert "a" in copied and "b" not in copied
