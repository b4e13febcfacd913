"""Unpacked layers for overlay mounts: the store's ``ensure_unpacked`` bound to fs's unpacker."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from dockyard.digest import Digest
from dockyard.errors import StoreError
from dockyard.store import Store


def ensure_unpacked(store: Store, diff_id: Digest) -> Path:
    """The layer's directory in overlay-lowerdir form, unpacked once per diff_id."""

    def unpack(stream: BinaryIO, target: Path) -> None:
        from dockyard.fs import unpack_layer

        result = unpack_layer(stream, target, mode="overlay")
        if result.diff_id != diff_id:
            raise StoreError(
                f"layer {diff_id} unpacked to content {result.diff_id}",
                "run 'dockyard system check'",
            )

    return store.ensure_unpacked(diff_id, unpack)


def flatten(store: Store, diff_ids: list[Digest] | tuple[Digest, ...], target: Path) -> None:
    """Apply every layer in order onto ``target`` (whiteouts delete): the image's rootfs."""
    from dockyard.fs import unpack_layer

    for diff_id in diff_ids:
        layer = store.layer_for_diff_id(diff_id)
        if layer is None:
            raise StoreError(f"no blob for layer {diff_id} in the store")
        with store.open_layer(layer) as stream:
            unpack_layer(stream, target, mode="apply")
