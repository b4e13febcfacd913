"""Build records (solver/fastpath.py): written atomically, read once per process."""

from __future__ import annotations

import os
from pathlib import Path

from dockyard.solver import fastpath


def _write(root: Path, key: str, image_id: str, context: Path) -> None:
    written = fastpath.write(
        str(root),
        key,
        context_dir=str(context),
        context_entries=[("a.txt", os.lstat(context / "a.txt"))],
        extra_files=[],
        bases={},
        names=[],
        tags=[],
        manifest="sha256:" + "1" * 64,
        image_id=image_id,
        blobs=[],
        steps=[],
    )
    assert written


def test_a_record_is_parsed_once_until_it_is_rewritten(tmp_path: Path) -> None:
    context = tmp_path / "context"
    context.mkdir()
    (context / "a.txt").write_text("a")
    key = "k" * 64
    _write(tmp_path, key, "sha256:" + "2" * 64, context)
    first = fastpath.load(str(tmp_path), key)
    assert first is not None and first["image_id"] == "sha256:" + "2" * 64
    assert fastpath.load(str(tmp_path), key) is first
    _write(tmp_path, key, "sha256:" + "3" * 64, context)
    again = fastpath.load(str(tmp_path), key)
    assert again is not None and again["image_id"] == "sha256:" + "3" * 64
    assert fastpath.load(str(tmp_path), "other" * 8) is None


def test_fresh_context_entries_are_recorded_to_be_checked_again(tmp_path: Path) -> None:
    context = tmp_path / "context"
    context.mkdir()
    (context / "a.txt").write_text("a")  # changed just now: racy
    _write(tmp_path, "r" * 64, "sha256:" + "2" * 64, context)
    record = fastpath.load(str(tmp_path), "r" * 64)
    assert record is not None
    assert record["context"] == [["a.txt", fastpath.RACY]]
    assert not fastpath.context_unchanged(record, str(context))
