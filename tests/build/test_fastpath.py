"""Build records (solver/fastpath.py): written atomically, read once per process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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


def test_prune_keeps_usable_records_and_deletes_the_rest(tmp_path: Path) -> None:
    context = tmp_path / "context"
    context.mkdir()
    (context / "a.txt").write_text("a")
    blob = "sha256:" + "4" * 64
    (tmp_path / "blobs" / "sha256").mkdir(parents=True)
    (tmp_path / "blobs" / "sha256" / ("4" * 64)).write_bytes(b"blob")
    for key, blobs in (("k" * 64, [blob]), ("g" * 64, ["sha256:" + "5" * 64])):
        fastpath.write(
            str(tmp_path),
            key,
            context_dir=str(context),
            context_entries=[],
            extra_files=[],
            bases={},
            names=[],
            tags=[],
            manifest=blob,
            image_id=blob,
            blobs=blobs,
            steps=[],
        )
    records = tmp_path / "buildcache" / "records"
    (records / "old.json").write_text("{}")  # an older format
    (records / "broken.record").write_bytes(b"\x00garbage")
    (records / f"x.record.{os.getpid()}.tmp").write_bytes(b"")  # being written: kept
    (records / "y.record.999999999.tmp").write_bytes(b"")  # its writer is gone
    assert fastpath.prune(str(tmp_path)) == 4
    assert sorted(path.name for path in records.iterdir()) == [
        "k" * 40 + ".record",
        f"x.record.{os.getpid()}.tmp",
    ]
    assert fastpath.load(str(tmp_path), "k" * 64) is not None


@pytest.mark.parametrize(
    "environment",
    [{"DOCKYARD_ROOT": "/tmp/elsewhere"}, {}, {"XDG_DATA_HOME": "/tmp/xdg"}],
)
def test_the_store_root_rule_is_the_stores(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """fastpath keeps its own copy of the store-root rule (the store costs ~10 ms to
    import); both must always name the same directory."""
    from dockyard.store.files import default_root

    for name in ("DOCKYARD_ROOT", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    for euid in (0, 1000):
        monkeypatch.setattr(os, "geteuid", lambda euid=euid: euid)
        assert fastpath.store_root() == str(default_root())
