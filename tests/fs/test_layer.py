"""Layer writing: round trips, determinism, interop with tar/gzip, compression choices."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from fs_helpers import CAPABILITY, LONG_COMPONENT, LONG_PATH, inventory

from dockyard.compression import decompressed
from dockyard.digest import Digest
from dockyard.errors import LayerError
from dockyard.fs import (
    MEDIA_TYPE_LAYER_GZIP,
    MEDIA_TYPE_LAYER_TAR,
    MEDIA_TYPE_LAYER_ZSTD,
    compress_tar,
    unpack_layer,
    write_layer,
)


def _write(tree: Path, path: Path, **options: object) -> Path:
    with open(path, "wb") as out:
        blob = write_layer(tree, out, **options)  # type: ignore[arg-type]
    assert blob.size == path.stat().st_size
    with open(path, "rb") as written:
        assert blob.digest == Digest.of_stream(written)[0]
    return path


def test_round_trip_keeps_every_kind_of_entry(rich_tree: Path, tmp_path: Path) -> None:
    blob_path = _write(rich_tree, tmp_path / "layer.tgz")
    target = tmp_path / "unpacked"
    target.mkdir()
    with open(blob_path, "rb") as stream:
        result = unpack_layer(stream, target)
    expected = inventory(rich_tree)
    assert "dev/log" in expected  # the socket is in the tree ...
    del expected["dev/log"]  # ... but never in a layer
    assert inventory(target) == expected
    assert os.getxattr(target / "usr/bin/ping", "security.capability") == CAPABILITY
    assert os.stat(target / "usr/bin/setuid-tool").st_mode & 0o7777 == 0o4755
    with gzip.open(blob_path) as plain:
        assert result.diff_id == Digest.of_stream(plain)[0]  # type: ignore[arg-type]


def test_tar_follows_buildkit_conventions(rich_tree: Path, tmp_path: Path) -> None:
    blob_path = _write(rich_tree, tmp_path / "layer.tar", compression="none")
    with tarfile.open(blob_path) as archive:
        members = archive.getmembers()
    names = [member.name for member in members]
    assert not any(name.startswith(("./", "/")) for name in names)
    assert names.index("etc") < names.index("etc/hostname")
    by_name = {member.name: member for member in members}
    assert by_name["home/user/notes.txt"].uid == 1000
    assert all(member.uname == "" and member.gname == "" for member in members)
    assert by_name["usr/lib/libhard.so"].islnk()
    assert by_name["usr/lib/libhard.so"].linkname == "etc/hard-elsewhere"  # first in order
    assert by_name["dev/null"].ischr() and by_name["dev/loop0"].isblk()
    assert by_name["dev/initctl"].isfifo() and "dev/log" not in by_name
    assert f"names/{LONG_COMPONENT}" in by_name and f"{LONG_PATH}/file-in-long-dir" in by_name
    assert by_name["long-target-link"].linkname == "t" * 150
    caps = by_name["usr/bin/ping"].pax_headers["SCHILY.xattr.security.capability"]
    assert caps.encode("utf-8", "surrogateescape") == CAPABILITY
    # Directory entries carry a trailing slash in the raw tar.
    raw = blob_path.read_bytes()
    assert b"etc/\0" in raw and b"./" not in raw[:100]


def test_same_tree_gives_same_digests(rich_tree: Path, tmp_path: Path) -> None:
    first = write_layer(rich_tree, io.BytesIO())
    second = write_layer(rich_tree, io.BytesIO())
    assert first == second
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(rich_tree), str(copy)], check=True)
    assert write_layer(copy, io.BytesIO()) == first  # other inodes, same layer


def test_source_date_epoch_clamps_mtimes(rich_tree: Path, tmp_path: Path) -> None:
    clamp = 1_500_000_000
    before = write_layer(rich_tree, io.BytesIO(), source_date_epoch=clamp)
    for directory, dirnames, filenames in os.walk(rich_tree):
        for name in dirnames + filenames:
            os.utime(os.path.join(directory, name), follow_symlinks=False)  # now
    assert write_layer(rich_tree, io.BytesIO(), source_date_epoch=clamp) == before
    assert write_layer(rich_tree, io.BytesIO()) != before
    buffer = io.BytesIO()
    write_layer(rich_tree, buffer, compression="none", source_date_epoch=clamp)
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as archive:
        assert {member.mtime for member in archive.getmembers()} == {clamp}


def test_gzip_blob_is_readable_by_command_line_tools(rich_tree: Path, tmp_path: Path) -> None:
    blob_path = _write(rich_tree, tmp_path / "layer.tgz")
    decompressed = subprocess.run(
        ["gzip", "-dc", str(blob_path)], check=True, capture_output=True
    ).stdout
    blob = write_layer(rich_tree, io.BytesIO())
    assert blob.diff_id == Digest.of_bytes(decompressed)
    assert blob.media_type == MEDIA_TYPE_LAYER_GZIP
    header = blob_path.read_bytes()[:10]
    assert header[4:8] == b"\0\0\0\0" and header[3] == 0  # no mtime, no name
    extracted = tmp_path / "by-tar"
    extracted.mkdir()
    subprocess.run(
        ["tar", "--xattrs", "--xattrs-include=*", "-xpzf", str(blob_path), "-C", str(extracted)],
        check=True,
    )
    expected = inventory(rich_tree)
    del expected["dev/log"]
    assert inventory(extracted) == expected


@pytest.mark.parametrize("tar_format", ["gnu", "posix", "ustar-compatible"])
def test_unpacks_what_gnu_tar_writes(rich_tree: Path, tmp_path: Path, tar_format: str) -> None:
    tree = rich_tree
    if tar_format == "ustar-compatible":  # plain ustar cannot hold long names
        tree = tmp_path / "short"
        (tree / "etc").mkdir(parents=True)
        shutil.copy2(rich_tree / "etc/hostname", tree / "etc/hostname")
        os.symlink("hostname", tree / "etc/link")
        tar_format = "ustar"
    archive = tmp_path / "gnu.tar"
    subprocess.run(
        ["tar", f"--format={tar_format}", "--xattrs", "--xattrs-include=*", "-cf", str(archive),
         "-C", str(tree), "."],
        check=True,
    )  # fmt: skip
    target = tmp_path / "unpacked"
    target.mkdir()
    with open(archive, "rb") as stream:
        result = unpack_layer(stream, target)
    with open(archive, "rb") as stream:
        assert result.diff_id == Digest.of_stream(stream)[0]
    expected = inventory(tree)
    expected.pop("dev/log", None)
    assert inventory(target) == expected


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_each_compression_round_trips(rich_tree: Path, tmp_path: Path, compression: str) -> None:
    blob_path = _write(rich_tree, tmp_path / "layer", compression=compression)
    blob = write_layer(rich_tree, io.BytesIO(), compression=compression)  # type: ignore[arg-type]
    media = {
        "gzip": MEDIA_TYPE_LAYER_GZIP,
        "zstd": MEDIA_TYPE_LAYER_ZSTD,
        "none": MEDIA_TYPE_LAYER_TAR,
    }
    assert blob.media_type == media[compression]
    if compression == "none":
        assert blob.digest == blob.diff_id
    with open(blob_path, "rb") as stream, decompressed(stream) as plain:
        assert Digest.of_stream(plain)[0] == blob.diff_id
    target = tmp_path / "unpacked"
    target.mkdir()
    with open(blob_path, "rb") as stream:
        assert unpack_layer(stream, target).diff_id == blob.diff_id
    expected = inventory(rich_tree)
    del expected["dev/log"]
    assert inventory(target) == expected


def test_compress_tar_matches_write_layer(rich_tree: Path) -> None:
    plain = io.BytesIO()
    direct = write_layer(rich_tree, io.BytesIO())
    write_layer(rich_tree, plain, compression="none")
    plain.seek(0)
    out = io.BytesIO()
    assert compress_tar(plain, out) == direct
    assert hashlib.sha256(out.getvalue()).hexdigest() == direct.digest.hex


def test_exclude_leaves_paths_and_subtrees_out(rich_tree: Path) -> None:
    buffer = io.BytesIO()
    write_layer(rich_tree, buffer, compression="none", exclude=["/etc/hostname", "./dev"])
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as archive:
        names = archive.getnames()
    assert "etc/shadow" in names and "etc/hostname" not in names
    assert not any(name == "dev" or name.startswith("dev/") for name in names)


def test_empty_tree_is_an_empty_tar(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    blob = write_layer(tmp_path, buffer, compression="none")
    assert buffer.getvalue() == b"\0" * 1024
    assert blob.diff_id == Digest.of_bytes(b"\0" * 1024)


def test_missing_source_is_a_layer_error(tmp_path: Path) -> None:
    with pytest.raises(LayerError, match="cannot write layer"):
        write_layer(tmp_path / "absent", io.BytesIO())


def test_deep_trees_and_a_linked_root_are_written_whole(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    deep = tree.joinpath(*[f"level{index}" for index in range(100)])  # deeper than fds kept
    deep.mkdir(parents=True)
    (deep / "bottom").write_bytes(b"at the bottom")
    (tree / "level0" / "top").write_bytes(b"near the top")
    os.symlink("level0/top", tree / "link")
    linked = tmp_path / "linked"
    os.symlink(tree, linked)
    plain = io.BytesIO()
    blob = write_layer(linked, plain, compression="none")
    assert blob == write_layer(tree, io.BytesIO(), compression="none")
    plain.seek(0)
    with tarfile.open(fileobj=plain) as archive:
        names = archive.getnames()
        bottom = archive.extractfile(str(deep.relative_to(tree) / "bottom"))
        assert bottom is not None and bottom.read() == b"at the bottom"
    assert len(names) == 100 + 3
    assert names == sorted(names, key=lambda name: name.encode())
