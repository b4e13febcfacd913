"""Real overlayfs mounts: whiteout conversion both ways, long stacks, read-only stacks."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from fs_helpers import inventory, make_rich_tree

from dockyard.errors import LayerError, MountError
from dockyard.fs import (
    mount_overlay,
    overlay,
    overlay_supported,
    unmount,
    unpack_layer,
    write_layer,
)
from dockyard.fs.snapshot import PAGE_LIMIT

pytestmark = pytest.mark.root


def test_this_kernel_offers_overlayfs() -> None:
    assert overlay_supported(), "overlayfs is required (CI runs as root on Linux)"


def _change_through_the_mount(merged: Path) -> None:
    """What a RUN step does: delete, replace a directory, modify, add, chmod, rename."""
    (merged / "etc/hostname").unlink()
    shutil.rmtree(merged / "usr/lib")
    (merged / "usr/lib").mkdir()
    (merged / "usr/lib/only-new.so").write_bytes(b"new library")
    (merged / "etc/shadow").write_bytes(b"changed\n")
    os.chmod(merged / "usr/bin/ping", 0o700)
    os.chown(merged / "home/user/notes.txt", 2000, 2000)
    (merged / "var/cache/new").mkdir(parents=True)
    (merged / "var/cache/new/file").write_bytes(b"fresh")
    # With redirect_dir=off the kernel refuses rename(2) of a lower directory (EXDEV);
    # mv falls back to copying, as it would in a real build.
    subprocess.run(["mv", str(merged / "srv"), str(merged / "srv-moved")], check=True)
    os.unlink(merged / "dangling")
    os.symlink("/somewhere/else", merged / "dangling")


@pytest.fixture
def lower(tmp_path: Path) -> Path:
    return make_rich_tree(tmp_path / "lower")


def test_upper_dir_as_layer_reproduces_the_merged_view(lower: Path, tmp_path: Path) -> None:
    upper, work, merged = tmp_path / "upper", tmp_path / "work", tmp_path / "merged"
    for directory in (upper, work, merged):
        directory.mkdir()
    with overlay([lower], merged, upper=upper, work=work):
        _change_through_the_mount(merged)
        expected = inventory(merged)
    # The upper dir holds overlay whiteouts the layer must translate.
    assert (upper / "etc/hostname").lstat().st_rdev == 0
    assert os.getxattr(upper / "usr/lib", "trusted.overlay.opaque") == b"y"
    blob = io.BytesIO()
    write_layer(upper, blob, kind="overlay-upper")
    # Flatten: a copy of the lower with the layer applied equals the merged view.
    flat = tmp_path / "flat"
    subprocess.run(["cp", "-a", str(lower), str(flat)], check=True)
    blob.seek(0)
    unpack_layer(blob, flat, mode="apply")
    assert inventory(flat) == expected
    # Overlay mode: the layer unpacked as a lowerdir stacks to the same view.
    as_lower = tmp_path / "as-lower"
    as_lower.mkdir()
    blob.seek(0)
    unpack_layer(blob, as_lower, mode="overlay")
    stacked = tmp_path / "stacked"
    stacked.mkdir()
    with overlay([lower, as_lower], stacked):
        assert inventory(stacked) == expected
    assert not os.path.ismount(stacked)


def test_layers_stack_to_their_flattened_tree(tmp_path: Path) -> None:
    """Three layers, each unpacked once as a lowerdir, equal applying them in order."""
    layers: list[io.BytesIO] = []
    base = make_rich_tree(tmp_path / "base")
    layers.append(io.BytesIO())
    write_layer(base, layers[-1])
    current = [base]
    for step in range(2):
        upper, work, merged = (tmp_path / f"{name}{step}" for name in ("upper", "work", "m"))
        for directory in (upper, work, merged):
            directory.mkdir()
        with overlay(current, merged, upper=upper, work=work):
            (merged / f"step{step}").write_text(str(step))
            shutil.rmtree(merged / "dev")
            (merged / "dev").mkdir()
            (merged / "dev" / f"only-{step}").write_text("x")
        layers.append(io.BytesIO())
        write_layer(upper, layers[-1], kind="overlay-upper")
        current.append(upper)
    flat = tmp_path / "flat"
    flat.mkdir()
    unpacked: list[Path] = []
    for index, layer in enumerate(layers):
        layer.seek(0)
        unpack_layer(layer, flat)
        layer.seek(0)
        unpacked.append(tmp_path / f"layer{index}")
        unpacked[-1].mkdir()
        unpack_layer(layer, unpacked[-1], mode="overlay")
    view = tmp_path / "view"
    view.mkdir()
    with overlay(unpacked, view):
        assert inventory(view) == inventory(flat)
    assert sorted(os.listdir(flat / "dev")) == ["only-1"]


def test_a_stack_longer_than_a_page_of_options_mounts(tmp_path: Path) -> None:
    layers_dir = tmp_path / ("layers-with-a-long-directory-name-" + "x" * 60)
    lowers = []
    for index in range(80):
        layer = layers_dir / f"{index:03d}-{'y' * 40}" / "diff"
        layer.mkdir(parents=True)
        (layer / f"file{index:03d}").write_text(str(index))
        (layer / "shadowed").write_text(str(index))
        lowers.append(layer)
    assert len(":".join(str(lower) for lower in lowers)) > PAGE_LIMIT
    target = tmp_path / "target"
    target.mkdir()
    with overlay(lowers, target):
        assert len(os.listdir(target)) == 81
        assert (target / "shadowed").read_text() == "79"  # the last layer is on top
    assert os.getcwd() != str(layers_dir)  # the parent never changed directory


def test_single_lower_is_a_read_only_bind(tmp_path: Path) -> None:
    lower, target = tmp_path / "lower", tmp_path / "target"
    lower.mkdir()
    target.mkdir()
    (lower / "f").write_text("x")
    with overlay([lower], target):
        assert (target / "f").read_text() == "x"
        with pytest.raises(OSError):
            (target / "g").write_text("y")


def test_scratch_snapshot_writes_to_the_upper(tmp_path: Path) -> None:
    upper, work, target = tmp_path / "upper", tmp_path / "work", tmp_path / "target"
    for directory in (upper, work, target):
        directory.mkdir()
    with overlay([], target, upper=upper, work=work):
        (target / "new").write_text("x")
    assert (upper / "new").read_text() == "x"


def test_mount_errors_are_mount_errors(tmp_path: Path) -> None:
    with pytest.raises(MountError, match="cannot mount"):
        mount_overlay([tmp_path / "a", tmp_path / "b"], tmp_path / "missing-target")
    with pytest.raises(MountError, match="cannot unmount"):
        unmount(tmp_path)
    with pytest.raises(MountError, match="contains"):
        mount_overlay([tmp_path / "a:b", tmp_path / "c"], tmp_path)


def test_redirect_entries_in_an_upper_are_refused(tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    (upper / "renamed").mkdir(parents=True)
    os.setxattr(upper / "renamed", "trusted.overlay.redirect", b"/original")
    with pytest.raises(LayerError, match="redirect or metacopy"):
        write_layer(upper, io.BytesIO(), kind="overlay-upper")
    assert write_layer(upper, io.BytesIO(), kind="tree").size > 0  # a tree is just a tree


@pytest.mark.parametrize("long_stack", [False, True])
def test_build_snapshots_are_volatile_overlays(tmp_path: Path, long_stack: bool) -> None:
    """A build step's overlay never syncs (unmounting would sync the whole disk)."""
    from dockyard.solver.workarea import WorkArea, mounted

    # A long stack overflows a page of options: it is mounted with relative paths.
    layers_dir = tmp_path / ("layers-" + "l" * 60 if long_stack else "layers")
    lowers = []
    for index in range(80 if long_stack else 2):
        layer = layers_dir / f"{index:03d}"
        layer.mkdir(parents=True)
        lowers.append(layer)
    area = WorkArea(tmp_path / "area")
    with mounted(area, lowers) as (merged, _upper):
        assert _volatile(_super_options(merged))
    with mounted(area, lowers, writable=False) as (merged, _):
        assert not _volatile(_super_options(merged))
    area.close()


def _volatile(options: str) -> bool:
    """Older kernels list ``volatile``; newer ones ``fsync=volatile``."""
    return bool({"volatile", "fsync=volatile"} & set(options.split(",")))


def _super_options(mount_point: Path) -> str:
    with open("/proc/self/mountinfo") as info:
        for line in info:
            fields = line.split()
            if fields[4] == str(mount_point):
                return fields[-1]
    raise AssertionError(f"{mount_point} is not mounted")
