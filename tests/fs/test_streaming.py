"""Big layers stream: memory stays flat while writing and unpacking > 100 MB."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

from fs_helpers import CountingSink

from dockyard.digest import Digest
from dockyard.fs import unpack_layer, write_layer

BIG = 120 << 20
FLAT = 40 << 20  # a few in-flight 1 MiB blocks, far below the layer size


def _big_tree(root: Path) -> Path:
    root.mkdir()
    chunk = os.urandom(1 << 20)
    with open(root / "big.bin", "wb") as out:
        for index in range(BIG >> 20):
            out.write(index.to_bytes(4, "big") + chunk[4:])
    for index in range(200):
        (root / f"small-{index}").write_bytes(chunk[: index * 97])
    return root


def test_writing_and_unpacking_a_big_layer_keeps_memory_flat(tmp_path: Path) -> None:
    tree = _big_tree(tmp_path / "tree")
    sink = CountingSink()
    tracemalloc.start()
    try:
        blob = write_layer(tree, sink)  # type: ignore[arg-type]
        _, write_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert blob.size == sink.size > BIG
    assert blob.digest == Digest.from_hasher(sink.hasher)
    assert write_peak < FLAT, f"writing peaked at {write_peak} bytes"

    layer_path = tmp_path / "layer.tgz"
    with open(layer_path, "wb") as out:
        assert write_layer(tree, out) == blob
    target = tmp_path / "unpacked"
    target.mkdir()
    tracemalloc.start()
    try:
        with open(layer_path, "rb") as stream:
            result = unpack_layer(stream, target)
        _, unpack_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.diff_id == blob.diff_id
    assert unpack_peak < FLAT, f"unpacking peaked at {unpack_peak} bytes"
    assert (target / "big.bin").stat().st_size == BIG
