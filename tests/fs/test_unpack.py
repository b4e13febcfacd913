"""Safe unpacking: the break-out table, whiteouts in both modes, malformed streams.

The break-out cases follow moby's TestUntarInvalidFilenames / InvalidHardlink /
InvalidSymlink and containerd's TestBreakouts: each tar is built here; every case
is either refused with an UnpackError or contained (nothing outside the root
changes), and the table says which.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from fs_helpers import entry, tar_stream

from dockyard.errors import UnpackError
from dockyard.fs import unpack_layer

DIR = tarfile.DIRTYPE
SYM = tarfile.SYMTYPE
LINK = tarfile.LNKTYPE
REG = tarfile.REGTYPE


@dataclass(frozen=True)
class Breakout:
    name: str
    build: Callable[[Path], io.BytesIO]  # gets the victim directory
    refused: str | None  # a fragment of the UnpackError message, or None: contained


def _file(name: str, data: bytes = b"pwned") -> tuple[tarfile.TarInfo, bytes]:
    return entry(name), data


BREAKOUTS = [
    Breakout("dotdot name", lambda v: tar_stream(_file("../victim/dotdot")), "outside the root"),
    Breakout(
        "dotdot twice", lambda v: tar_stream(_file("../../victim/dotdot")), "outside the root"
    ),
    Breakout(
        "dotdot hidden in the middle",
        lambda v: tar_stream(_file("a/b/../../../victim/x")),
        "outside the root",
    ),
    Breakout("slash dotdot", lambda v: tar_stream(_file("/../victim/x")), "outside the root"),
    Breakout("absolute name", lambda v: tar_stream(_file(f"{v}/hello")), None),
    Breakout(
        "hardlink dotdot",
        lambda v: tar_stream(entry("loophole", LINK, link="../victim/hello")),
        "outside the root",
    ),
    Breakout(
        "hardlink absolute",
        lambda v: tar_stream(entry("loophole", LINK, link=f"{v}/hello")),
        "no such entry",
    ),
    Breakout(
        "hardlink then write through it",
        lambda v: tar_stream(
            entry("loophole", LINK, link=f"{v}/hello"), _file("loophole", b"overwritten")
        ),
        "no such entry",
    ),
    Breakout(
        "symlink parent, relative",
        lambda v: tar_stream(entry("loophole", SYM, link="../victim"), _file("loophole/hello")),
        None,
    ),
    Breakout(
        "symlink parent, deep relative",
        lambda v: tar_stream(
            entry("a/b/loophole", SYM, link="../../../../../../victim"),
            _file("a/b/loophole/hello"),
        ),
        None,
    ),
    Breakout(
        "symlink parent, absolute",
        lambda v: tar_stream(entry("loophole", SYM, link=str(v)), _file("loophole/hello")),
        None,
    ),
    Breakout(
        "symlink swapped in for a directory",
        lambda v: tar_stream(
            entry("dir", DIR, mode=0o755),
            _file("dir/ok"),
            entry("dir", SYM, link=str(v)),
            _file("dir/hello"),
        ),
        None,
    ),
    Breakout(
        "symlink chain out",
        lambda v: tar_stream(
            entry("one", SYM, link="two"),
            entry("two", SYM, link="../three"),
            entry("three", SYM, link=str(v)),
            _file("one/hello"),
        ),
        None,
    ),
    Breakout(
        "hardlink through a symlink parent",
        lambda v: tar_stream(
            entry("loophole", SYM, link=str(v)), entry("h", LINK, link="loophole/hello")
        ),
        "no such entry",
    ),
    Breakout(
        "hardlink to a symlink pointing out, then write",
        lambda v: tar_stream(
            entry("sym", SYM, link=f"{v}/hello"),
            entry("hard", LINK, link="sym"),
            _file("hard", b"overwritten"),
        ),
        None,
    ),
    Breakout(
        "write onto a symlink pointing out",
        lambda v: tar_stream(entry("sym", SYM, link=f"{v}/hello"), _file("sym", b"overwritten")),
        None,
    ),
    Breakout(
        "directory entry over a symlink pointing out",
        lambda v: tar_stream(entry("sym", SYM, link=str(v)), entry("sym", DIR, mode=0o777)),
        None,
    ),
    Breakout(
        "whiteout dotdot",
        lambda v: tar_stream(_file("sub/.wh..."), _file("x")),
        "does not name an entry",
    ),
    Breakout(
        "whiteout climbing name", lambda v: tar_stream(_file("../.wh.victim")), "outside the root"
    ),
    Breakout(
        "whiteout through a symlink parent",
        lambda v: tar_stream(entry("loophole", SYM, link=str(v)), _file("loophole/.wh.hello", b"")),
        None,
    ),
    Breakout(
        "opaque whiteout through a symlink parent",
        lambda v: tar_stream(
            entry("loophole", SYM, link=str(v)), _file("loophole/.wh..wh..opq", b"")
        ),
        None,
    ),
    Breakout(
        "device through a symlink parent",
        lambda v: tar_stream(
            entry("loophole", SYM, link=str(v)),
            entry("loophole/null", tarfile.CHRTYPE, devmajor=1, devminor=3),
        ),
        None,
    ),
    Breakout(
        "symlink loop as a parent",
        lambda v: tar_stream(entry("loop", SYM, link="loop"), _file("loop/x")),
        "too many levels of symbolic links",
    ),
    Breakout(
        "file as a parent",
        lambda v: tar_stream(_file("plain"), _file("plain/x")),
        "is not a directory",
    ),
    Breakout(
        "overlay xattrs smuggled in",
        lambda v: tar_stream(
            entry(
                "dir",
                DIR,
                mode=0o755,
                pax_headers={
                    "SCHILY.xattr.trusted.overlay.opaque": "y",
                    "SCHILY.xattr.trusted.overlay.redirect": str(v),
                },
            )
        ),
        None,
    ),
]


def _snapshot(directory: Path) -> dict[str, tuple[int, bytes | str | None]]:
    result: dict[str, tuple[int, bytes | str | None]] = {}
    for path in sorted(directory.rglob("*")):
        st = path.lstat()
        content: bytes | str | None = None
        if stat.S_ISREG(st.st_mode):
            content = path.read_bytes()
        elif stat.S_ISLNK(st.st_mode):
            content = os.readlink(path)
        result[str(path.relative_to(directory))] = (st.st_mode, content)
    return result


@pytest.mark.parametrize("mode", ["apply", "overlay"])
@pytest.mark.parametrize("case", BREAKOUTS, ids=[case.name for case in BREAKOUTS])
def test_breakout_is_refused_or_contained(tmp_path: Path, case: Breakout, mode: str) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "hello").write_bytes(b"hello")
    root = tmp_path / "root"
    root.mkdir()
    before = _snapshot(victim)
    stream = case.build(victim)
    if case.refused is None:
        unpack_layer(stream, root, mode=mode)  # type: ignore[arg-type]
    else:
        with pytest.raises(UnpackError, match=case.refused):
            unpack_layer(stream, root, mode=mode)  # type: ignore[arg-type]
    assert _snapshot(victim) == before
    assert sorted(os.listdir(tmp_path)) == ["root", "victim"]
    for directory, _, _ in os.walk(root):
        for key in os.listxattr(directory):
            assert not key.startswith("trusted.overlay.") or key == "trusted.overlay.opaque"
    if case.name == "overlay xattrs smuggled in":
        assert os.listxattr(root / "dir") == []


def test_contained_writes_land_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    stream = tar_stream(entry("loophole", SYM, link="../../victim"), _file("loophole/hello"))
    unpack_layer(stream, root)
    assert (root / "victim/hello").read_bytes() == b"pwned"
    assert os.readlink(root / "loophole") == "../../victim"


def _lower(tmp_path: Path) -> Path:
    lower = tmp_path / "lower"
    for name in ("keep/a", "gone/b", "opaque/old", "file"):
        (lower / name).parent.mkdir(parents=True, exist_ok=True)
        (lower / name).write_bytes(name.encode())
    return lower


WHITEOUT_LAYER = [
    _file("gone/.wh.b", b""),
    _file(".wh.file", b""),
    entry("opaque", DIR, mode=0o755),
    _file("opaque/.wh..wh..opq", b""),
    _file("opaque/new", b"new"),
    _file(".wh.new-in-layer", b""),
    _file("new-in-layer", b"stays"),
    _file("missing/.wh.x", b""),
]


def test_apply_mode_whiteouts_delete(tmp_path: Path) -> None:
    root = _lower(tmp_path)
    unpack_layer(tar_stream(*WHITEOUT_LAYER), root)
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == [
        "gone", "keep", "keep/a", "new-in-layer", "opaque", "opaque/new",
    ]  # fmt: skip
    assert not (root / "missing").exists()


def test_overlay_mode_makes_overlay_whiteouts(tmp_path: Path) -> None:
    root = tmp_path / "layer"
    root.mkdir()
    unpack_layer(tar_stream(*WHITEOUT_LAYER), root, mode="overlay")
    for name in ("gone/b", "file", "missing/x"):
        st = os.lstat(root / name)
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0, name
    assert os.getxattr(root / "opaque", "trusted.overlay.opaque") == b"y"
    assert (root / "new-in-layer").read_bytes() == b"stays"
    assert not any(".wh." in path.name for path in root.rglob("*"))


def test_overlay_mode_root_is_world_readable(tmp_path: Path) -> None:
    root = tmp_path / "layer"
    root.mkdir(mode=0o700)
    unpack_layer(tar_stream(_file("f")), root, mode="overlay")
    assert os.stat(root).st_mode & 0o7777 == 0o755
    unpack_layer(tar_stream(entry(".", DIR, mode=0o750)), root, mode="overlay")
    assert os.stat(root).st_mode & 0o7777 == 0o750


def test_directory_mtimes_are_set_last(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    unpack_layer(tar_stream(entry("d", DIR, mode=0o755, mtime=1000), _file("d/f")), root)
    assert os.stat(root / "d").st_mtime == 1000


def test_existing_directory_takes_new_metadata_and_keeps_content(tmp_path: Path) -> None:
    root = _lower(tmp_path)
    unpack_layer(tar_stream(entry("keep", DIR, mode=0o700, uid=5, gid=6)), root)
    st = os.stat(root / "keep")
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o700, 5, 6)
    assert (root / "keep/a").exists()


def test_file_replaces_directory_and_back(tmp_path: Path) -> None:
    root = _lower(tmp_path)
    unpack_layer(tar_stream(_file("keep", b"now a file"), entry("file", DIR, mode=0o755)), root)
    assert (root / "keep").read_bytes() == b"now a file"
    assert (root / "file").is_dir()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x1f\x8b\x08\x00garbage-garbage-garbage", "cannot unpack layer"),
        (b"\x28\xb5\x2f\xfd" + b"garbage" * 10, "cannot unpack layer"),
        (b"x" * 512, "checksum"),
    ],
)
def test_malformed_streams_are_unpack_errors(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(UnpackError, match=message):
        unpack_layer(io.BytesIO(data), tmp_path)


def test_truncated_stream_is_an_unpack_error(tmp_path: Path) -> None:
    whole = tar_stream(_file("big", b"y" * 10_000)).getvalue()
    with pytest.raises(UnpackError, match=r"truncated|unexpected end"):
        unpack_layer(io.BytesIO(whole[:3000]), tmp_path)


def test_unknown_entry_type_is_refused(tmp_path: Path) -> None:
    info = entry("volume-label", b"V")
    with pytest.raises(UnpackError, match="unsupported entry type"):
        unpack_layer(tar_stream(info), tmp_path)
