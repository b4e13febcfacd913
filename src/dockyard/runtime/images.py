"""Images from the store as the runtime needs them: config + unpacked layer dirs."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from dockyard.fs import unpack_layer
from dockyard.runtime.containers import ImageInfo
from dockyard.store import Store


def _unpack_for_overlay(stream: BinaryIO, target: Path) -> object:
    return unpack_layer(stream, target, mode="overlay")


def image_info(reference: str) -> ImageInfo:
    """The image ``reference`` (name or id) with every layer unpacked once."""
    with Store.open() as store:
        image = store.image(reference)
        lowerdirs = tuple(
            store.ensure_unpacked(diff_id, _unpack_for_overlay) for diff_id in image.diff_ids
        )
    config = image.config.config
    return ImageInfo(
        reference=reference,
        id=str(image.id),
        lowerdirs=lowerdirs,
        env=config.env,
        entrypoint=config.entrypoint,
        cmd=config.cmd,
        working_dir=config.working_dir,
        user=config.user,
        stop_signal=config.stop_signal,
        volumes=config.volumes,
        exposed_ports=config.exposed_ports,
    )
