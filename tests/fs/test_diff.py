"""write_diff: the layer between two full trees, checked by applying it."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

from fs_helpers import inventory

from dockyard.fs import overlay, unpack_layer, write_diff


def _copy(source: Path, target: Path) -> Path:
    subprocess.run(["cp", "-a", str(source), str(target)], check=True)
    return target


def _change(tree: Path) -> None:
    (tree / "etc/hostname").unlink()
    shutil.rmtree(tree / "usr/lib")
    (tree / "usr/lib").mkdir()
    (tree / "usr/lib/only-new.so").write_bytes(b"new library")
    (tree / "etc/shadow").write_bytes(b"changed\n")
    os.chmod(tree / "usr/bin/ping", 0o700)
    os.chown(tree / "home/user/notes.txt", 2000, 2000)
    (tree / "var/cache/new").mkdir(parents=True)
    (tree / "var/cache/new/file").write_bytes(b"fresh")
    os.rename(tree / "srv", tree / "srv-moved")
    os.unlink(tree / "dangling")
    os.symlink("/somewhere/else", tree / "dangling")
    shutil.rmtree(tree / "private")
    (tree / "private").write_bytes(b"a file where a directory was")
    # Same size, same whole-second mtime, other bytes: only a content check sees it.
    stamp = os.lstat(tree / "usr/share/empty").st_mtime_ns
    (tree / "etc/hard-elsewhere").write_bytes(b"L" + b"library bytes"[1:] + b"library bytes" * 99)
    os.utime(tree / "etc/hard-elsewhere", ns=(stamp, stamp))


def test_diff_applied_on_lower_gives_upper(rich_tree: Path, tmp_path: Path) -> None:
    upper = _copy(rich_tree, tmp_path / "upper")
    _change(upper)
    os.unlink(upper / "dev/log")  # sockets never reach a layer
    os.unlink(rich_tree / "dev/log")
    blob = io.BytesIO()
    write_diff(rich_tree, upper, blob)
    flat = _copy(rich_tree, tmp_path / "flat")
    blob.seek(0)
    unpack_layer(blob, flat)
    assert inventory(flat) == inventory(upper)
    # The same layer as an overlay lowerdir stacks to the same view.
    as_lower = tmp_path / "as-lower"
    as_lower.mkdir()
    blob.seek(0)
    unpack_layer(blob, as_lower, mode="overlay")
    view = tmp_path / "view"
    view.mkdir()
    with overlay([rich_tree, as_lower], view):
        assert inventory(view) == inventory(upper)


def test_diff_holds_only_changes_and_their_parents(rich_tree: Path, tmp_path: Path) -> None:
    upper = _copy(rich_tree, tmp_path / "upper")
    (upper / "usr/share/empty").unlink()
    (upper / "usr/share/added").write_text("x")
    blob = io.BytesIO()
    write_diff(rich_tree, upper, blob, compression="none")
    blob.seek(0)
    with tarfile.open(fileobj=blob) as archive:
        names = archive.getnames()
    # "usr" is unchanged but a parent of changes; whiteouts sit where the name was.
    assert names == ["usr", "usr/share", "usr/share/added", "usr/share/.wh.empty"]


def test_identical_trees_give_an_empty_layer(rich_tree: Path, tmp_path: Path) -> None:
    copy = _copy(rich_tree, tmp_path / "copy")
    blob = io.BytesIO()
    write_diff(rich_tree, copy, blob, compression="none")
    assert blob.getvalue() == b"\0" * 1024
