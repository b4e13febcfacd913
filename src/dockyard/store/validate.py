"""``validate_image``: every invariant of a stored image, checked from the bytes up."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from dockyard.compression import decompressed
from dockyard.digest import Digest
from dockyard.errors import StoreError
from dockyard.oci import Descriptor, ImageConfig, media
from dockyard.store.blobs import CHUNK
from dockyard.store.image import StoredImage

if TYPE_CHECKING:
    from dockyard.store.store import Store


class DiffIdCache:
    """Remembers blob → uncompressed digest so a check hashes each layer once."""

    def __init__(self) -> None:
        self.blob_ok: dict[Digest, bool] = {}
        self.diff_ids: dict[Digest, Digest] = {}


def _hash_stream(stream: object) -> Digest:
    hasher = hashlib.sha256()
    read = stream.read  # type: ignore[attr-defined]
    while chunk := read(CHUNK):
        hasher.update(chunk)
    return Digest.from_hasher(hasher)


def blob_matches(store: Store, descriptor: Descriptor, cache: DiffIdCache) -> str | None:
    """None when the blob exists with the descriptor's size and digest, else the problem."""
    digest = descriptor.digest
    if not store.has_blob(digest):
        return f"blob {digest} is missing"
    size = store.blobs.size(digest)
    if size != descriptor.size:
        return f"blob {digest} has {size} bytes, its descriptor says {descriptor.size}"
    if digest not in cache.blob_ok:
        with store.blobs.open(digest) as blob:
            cache.blob_ok[digest] = _hash_stream(blob) == digest
    if not cache.blob_ok[digest]:
        return f"blob {digest} is corrupt (its content has another digest)"
    return None


def layer_diff_id(store: Store, descriptor: Descriptor, cache: DiffIdCache) -> Digest:
    """The digest of a layer's tar: its compression is read from the blob, never from the
    media type (an uncompressed blob labelled ``+gzip`` is a valid layer, as for Docker)."""
    if descriptor.digest not in cache.diff_ids:
        if not store.blob_compression(descriptor.digest):
            cache.diff_ids[descriptor.digest] = descriptor.digest
        else:
            try:
                with store.blobs.open(descriptor.digest) as blob, decompressed(blob) as stream:
                    cache.diff_ids[descriptor.digest] = _hash_stream(stream)
            except (OSError, EOFError) as error:
                raise StoreError(
                    f"layer {descriptor.digest} cannot be decompressed: {error}"
                ) from None
    return cache.diff_ids[descriptor.digest]


def image_problems(store: Store, image: StoredImage, cache: DiffIdCache | None = None) -> list[str]:
    cache = cache or DiffIdCache()
    problems: list[str] = []
    manifest = image.manifest
    if Digest.of_bytes(image.manifest_bytes) != image.manifest_digest:
        problems.append(f"manifest {image.manifest_digest} does not match its digest")
    if manifest.media_type not in media.MANIFESTS:
        problems.append(f"manifest media type {manifest.media_type!r} is not an image manifest")
        return problems
    oci = manifest.media_type == media.OCI_MANIFEST
    expected_config = media.CONFIG_FOR_MANIFEST[manifest.media_type]
    if manifest.config.media_type != expected_config:
        problems.append(
            f"config media type {manifest.config.media_type!r}, expected {expected_config!r}"
        )
    problem = blob_matches(store, manifest.config, cache)
    if problem:
        return [*problems, f"config: {problem}"]
    try:
        config = ImageConfig.from_json(store.blobs.read(manifest.config.digest))
    except StoreError as error:
        return [*problems, f"config: {error}"]
    if not config.os or not config.architecture:
        problems.append("config has no os or architecture")
    if config.rootfs.type != "layers":
        problems.append(f"config rootfs type {config.rootfs.type!r}, expected 'layers'")
    diff_ids = config.rootfs.diff_ids
    if len(diff_ids) != len(manifest.layers):
        problems.append(
            f"{len(manifest.layers)} layers in the manifest but {len(diff_ids)} "
            "diff_ids in the config"
        )
    if config.history:
        with_layers = sum(1 for entry in config.history if not entry.empty_layer)
        if with_layers != len(manifest.layers):
            problems.append(
                f"history has {with_layers} non-empty entries for {len(manifest.layers)} layers"
            )
    for position, (layer, diff_id) in enumerate(zip(manifest.layers, diff_ids, strict=False)):
        what = f"layer {position} ({layer.digest.short})"
        if layer.media_type not in media.LAYERS:
            problems.append(f"{what}: media type {layer.media_type!r} is not a layer type")
            continue
        if layer.media_type.startswith("application/vnd.oci.") != oci:
            problems.append(
                f"{what}: media type {layer.media_type!r} does not match the "
                f"manifest's {manifest.media_type!r}"
            )
        problem = blob_matches(store, layer, cache)
        if problem:
            problems.append(f"{what}: {problem}")
            continue
        try:
            actual = layer_diff_id(store, layer, cache)
        except StoreError as error:
            problems.append(f"{what}: {error}")
            continue
        if actual != diff_id:
            problems.append(f"{what}: uncompressed content is {actual}, config says {diff_id}")
    return problems


def validate_image(store: Store, image: StoredImage) -> None:
    """Raise StoreError listing every broken invariant of ``image``."""
    problems = image_problems(store, image)
    if problems:
        raise StoreError(
            f"image {image.id.short} is invalid:\n  " + "\n  ".join(problems),
            "run 'dockyard system check'",
        )
