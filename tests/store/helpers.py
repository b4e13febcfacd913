"""Helpers for store tests: layers made with tarfile, images committed with them."""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Mapping
from pathlib import Path

from dockyard.digest import Digest
from dockyard.oci import ContainerConfig, History, ImageConfig, media
from dockyard.store import Layer, Store, StoredImage, validate_image


def layer_tar(files: Mapping[str, bytes | None]) -> bytes:
    """A tar with the given files (``None`` makes a directory), sorted, fixed metadata."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            content = files[name]
            info = tarfile.TarInfo(name)
            info.mtime = 1_700_000_000
            if content is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.size = len(content)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def add_layer(store: Store, files: Mapping[str, bytes | None], compress: bool = True) -> Layer:
    tar = layer_tar(files)
    media_type = media.OCI_LAYER_GZIP if compress else media.OCI_LAYER
    with store.layer_writer(media_type) as writer:
        writer.stream.write(gzip.compress(tar, mtime=0) if compress else tar)
        return writer.commit(Digest.of_bytes(tar), len(tar))


def make_image(
    store: Store, names: tuple[str, ...] = (), layers: int = 2, seed: str = "x"
) -> StoredImage:
    stored = [
        add_layer(store, {"etc/": None, f"etc/file{n}": f"{seed}{n}".encode()}, compress=n % 2 == 0)
        for n in range(layers)
    ]
    config = ImageConfig(
        config=ContainerConfig(env=("PATH=/bin",), cmd=("/bin/sh",)),
        created="2024-01-01T00:00:00Z",
        history=tuple(History(created_by=f"layer {n}") for n in range(layers)),
    )
    image = store.commit_image(config, stored, names)
    validate_image(store, image)
    return image


def tar_unpacker(stream: object, target: Path) -> None:
    """Stand-in unpacker for store tests (the store only needs *an* unpacker)."""
    with tarfile.open(fileobj=stream, mode="r|") as tar:  # type: ignore[call-overload]
        tar.extractall(target, filter="tar")
