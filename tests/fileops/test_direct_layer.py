"""A COPY written straight into its layer equals the layer of the same copy into an overlay.

Each case builds the parent's layers as overlay lowerdirs, then copies the same plan
(1) into a writable overlay and writes the upper dir as a layer (the general path),
(2) through a VirtualTarget over a read-only mount of the parent and writes its entries.
Both tars must hold the same entries with the same headers and contents; directory
mtimes that the kernel sets to "now" only need to be recent in both.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dockyard.fs.entries import write_entries
from dockyard.fs.layer import write_layer
from dockyard.fs.snapshot import mount_overlay, unmount
from dockyard.solver.fileops.copy import apply_copy
from dockyard.solver.fileops.plan import CopySpec, InlineFile, prepare_copy
from dockyard.solver.fileops.virtual import NotDirect, VirtualTarget


def _entries(data: bytes, started: float) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive:
            content = b""
            if member.isfile():
                extracted = archive.extractfile(member)
                assert extracted is not None
                content = extracted.read()
            recent = member.isdir() and member.mtime >= int(started)
            rows.append(
                (
                    member.name,
                    member.type,
                    oct(member.mode),
                    member.uid,
                    member.gid,
                    member.size,
                    member.linkname,
                    "recent" if recent else member.mtime,
                    sorted(member.pax_headers.items()),
                    hashlib.sha256(content).hexdigest(),
                )
            )
    return rows


def _through_overlay(lowers: list[Path], work: Path, spec: CopySpec, context: Path) -> bytes:
    upper, scratch, merged = work / "upper", work / "work", work / "merged"
    for directory in (upper, scratch, merged):
        directory.mkdir()
    mount_overlay(lowers, merged, upper=upper, work=scratch)
    try:
        apply_copy(prepare_copy(spec, _tree(context)), merged)
    finally:
        unmount(merged)
    out = io.BytesIO()
    write_layer(upper, out, kind="overlay-upper", compression="none")
    return out.getvalue()


def _directly(lowers: list[Path], work: Path, spec: CopySpec, context: Path) -> bytes:
    merged = work / "ro"
    merged.mkdir()
    mount_overlay(lowers, merged)
    try:
        target = VirtualTarget(str(merged), time.time_ns())
        apply_copy(prepare_copy(spec, _tree(context)), merged, target=target)
        out = io.BytesIO()
        write_entries(target.entries(), out, compression="none")
        return out.getvalue()
    finally:
        unmount(merged)


def _tree(context: Path):  # type: ignore[no-untyped-def]
    from dockyard.solver.context import open_context

    return open_context(context)[0]


MakeTree = Callable[[Path, dict[str, str | bytes | None]], Path]


def _base(make_tree: MakeTree, lower: Path) -> None:
    make_tree(
        lower,
        {
            "usr/src/app/": None,
            "usr/src/app/package.json": "old",
            "usr/src/app/link": "->package.json",
            "etc/passwd": "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n",
            "etc/group": "root:x:0:\napp:x:1001:\n",
            "real/": None,
            "alias": "->/real",
            "data/old.txt": "hidden later",
        },
    )
    os.chmod(lower / "usr/src/app", 0o750)
    os.chown(lower / "usr/src/app", 5, 6)
    os.setxattr(lower / "usr/src/app", "user.origin", b"base")
    os.utime(lower / "usr/src/app", (1_500_000_000, 1_500_000_000))
    os.utime(lower / "usr/src", (1_500_000_000, 1_500_000_000))


def _context(make_tree: MakeTree, context: Path) -> None:
    make_tree(
        context,
        {
            "package.json": "new",
            "server.js": "console.log('hi')",
            "link": "plain now",
            "sub/deep/file.txt": "deep",
            "sub/rel": "->deep/file.txt",
        },
    )
    os.link(context / "server.js", context / "sub/hard.js")
    os.chmod(context / "sub/deep/file.txt", 0o4755)
    os.setxattr(context / "server.js", "user.note", b"ctx")
    for path in context.rglob("*"):
        os.utime(path, (1_600_000_000, 1_600_000_000), follow_symlinks=False)


CASES: dict[str, CopySpec] = {
    "into a new directory": CopySpec(("sub",), "/data2/"),
    "merge into an existing directory": CopySpec((".",), ".", workdir="/usr/src/app"),
    "through a parent symlink": CopySpec(("server.js",), "/alias/x/"),
    "chown and chmod": CopySpec(("sub", "server.js"), "/opt/", chown="app:app", chmod="640"),
    "one file renamed": CopySpec(("server.js",), "/usr/src/app/main.js"),
    "excludes": CopySpec((".",), "/w/", excludes=("sub/deep",)),
    "heredoc": CopySpec((), "/usr/src/app/", contents=(InlineFile("run.sh", b"echo hi\n"),)),
    "heredoc replacing a file": CopySpec(
        (), "/usr/src/app/package.json", contents=(InlineFile("EOF", b"{}\n"),), chmod="600"
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_direct_layer_equals_overlay_layer(tmp_path: Path, tree_maker: MakeTree, case: str) -> None:
    lower, context = tmp_path / "lower", tmp_path / "context"
    _base(tree_maker, lower)
    _context(tree_maker, context)
    started = time.time()
    spec = CASES[case]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    expected = _through_overlay([lower], tmp_path / "a", spec, context)
    actual = _directly([lower], tmp_path / "b", spec, context)
    assert _entries(actual, started) == _entries(expected, started)


@pytest.mark.parametrize("hidden", ["whiteout", "opaque"])
def test_copy_over_a_directory_a_later_layer_hid(
    tmp_path: Path, tree_maker: MakeTree, hidden: str
) -> None:
    """/data deleted (or made opaque) by a later layer: that layer keeps hiding the old
    contents, the overlay writes no marker of its own, and neither does the direct path."""
    lower, top, context = tmp_path / "lower", tmp_path / "top", tmp_path / "context"
    _base(tree_maker, lower)
    top.mkdir()
    if hidden == "whiteout":
        os.mknod(top / "data", 0o600 | stat.S_IFCHR, 0)
    else:
        (top / "data").mkdir()
        (top / "data" / "kept").write_text("kept")
        os.setxattr(top / "data", "trusted.overlay.opaque", b"y")
    _context(tree_maker, context)
    started = time.time()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    spec = CopySpec(("sub",), "/data/")
    expected = _through_overlay([lower, top], tmp_path / "a", spec, context)
    actual = _directly([lower, top], tmp_path / "b", spec, context)
    assert _entries(actual, started) == _entries(expected, started)
    assert not any(".wh." in str(row[0]) for row in _entries(actual, started))


def test_replacing_without_recreating_is_refused(tmp_path: Path, tree_maker: MakeTree) -> None:
    lower, context = tmp_path / "lower", tmp_path / "context"
    _base(tree_maker, lower)
    merged = tmp_path / "ro"
    merged.mkdir()
    mount_overlay([lower], merged)
    try:
        target = VirtualTarget(str(merged), time.time_ns())
        target.unlink(str(merged / "usr/src/app/package.json"))
        with pytest.raises(NotDirect):
            target.entries()
    finally:
        unmount(merged)
    assert context.exists() is False
