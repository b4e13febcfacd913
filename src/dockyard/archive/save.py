"""``save``: images of the store as a docker-archive (``docker load`` of Docker 20.10+
accepts it; it is also an OCI layout, like Docker 25's) or as an oci-archive."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from dockyard.digest import Digest
from dockyard.errors import ArchiveError, StoreError
from dockyard.oci import Descriptor, ImageReference, Index, Manifest, canonical, media
from dockyard.store import Layer, Store, StoredImage
from dockyard.store.store import OCI_LAYOUT

from .load import uncompressed_size
from .tarstream import TarWriter

FORMATS = ("docker", "oci")


@dataclass(frozen=True)
class SaveItem:
    image: StoredImage
    names: tuple[ImageReference, ...]


def select(store: Store, refs: Sequence[str]) -> list[SaveItem]:
    """Docker's rules: a repository without a tag means all of its tags; an id, no names."""
    chosen: dict[Digest, tuple[StoredImage, list[ImageReference]]] = {}
    for text in refs:
        try:
            reference: ImageReference | None = ImageReference.parse(text)
        except StoreError:
            reference = None
        if reference is not None and reference.tag is None and reference.digest is None:
            tagged = [
                (image, name)
                for image in store.images()
                for name in image.names
                if name.name == reference.name and name.tag is not None
            ]
            if tagged:
                for image, name in tagged:
                    entry = chosen.setdefault(image.id, (image, []))
                    if name not in entry[1]:
                        entry[1].append(name)
                continue
        image = store.image(text)
        entry = chosen.setdefault(image.id, (image, []))
        if reference is not None:
            name = reference.with_default_tag()
            if name in image.names and name not in entry[1]:
                entry[1].append(name)
    return [SaveItem(image, tuple(names)) for image, names in chosen.values()]


def _index_entry(manifest: Descriptor, name: ImageReference | None) -> Descriptor:
    if name is None:
        return manifest
    ref_name = name.tag or str(name)
    return manifest.with_annotations(
        {media.CONTAINERD_NAME_ANNOTATION: str(name), media.REF_NAME_ANNOTATION: ref_name}
    )


def _write_docker(store: Store, items: Sequence[SaveItem], tar: TarWriter) -> None:
    written: set[Digest] = set()
    sizes: dict[Digest, int] = {}
    manifest_json = []
    repositories: dict[str, dict[str, str]] = {}
    index_entries: list[Descriptor] = []
    tar.add_dir("blobs")
    tar.add_dir("blobs/sha256")

    def blob_name(digest: Digest) -> str:
        return f"blobs/sha256/{digest.hex}"

    for item in items:
        image = item.image
        layers = []
        for layer in image.layers:
            name = blob_name(layer.diff_id)
            if layer.diff_id in sizes:
                layers.append(Descriptor(media.OCI_LAYER, layer.diff_id, sizes[layer.diff_id]))
                continue
            if not store.blob_compression(layer.digest):  # by content, not media type
                tar.add_file(name, store.blob_path(layer.digest))
                size = layer.descriptor.size
            else:
                # Unknown uncompressed size: patch the header afterwards (seekable output)
                # or count it in a first pass (a pipe).
                known = layer.uncompressed_size
                if known is None and not tar.seekable():
                    known = uncompressed_size(store, layer)
                with store.open_layer(layer) as stream:
                    size = tar.add_stream(name, stream, known)
                if layer.uncompressed_size is None:
                    store.record_layer(Layer(layer.descriptor, layer.diff_id, size))
            sizes[layer.diff_id] = size
            layers.append(Descriptor(media.OCI_LAYER, layer.diff_id, size))
        if image.id not in written:
            written.add(image.id)
            tar.add_bytes(blob_name(image.id), image.config_bytes)
        config = Descriptor(media.OCI_CONFIG, image.id, len(image.config_bytes))
        manifest_bytes = Manifest(config, tuple(layers)).to_json()
        manifest = Descriptor(
            media.OCI_MANIFEST, Digest.of_bytes(manifest_bytes), len(manifest_bytes)
        )
        if manifest.digest not in written:
            written.add(manifest.digest)
            tar.add_bytes(blob_name(manifest.digest), manifest_bytes)
        tags = [name for name in item.names if name.tag is not None]
        index_entries += [_index_entry(manifest, name) for name in tags] or [manifest]
        manifest_json.append({
            "Config": blob_name(image.id),
            "RepoTags": [name.familiar() for name in tags] or None,
            "Layers": [blob_name(layer.diff_id) for layer in image.layers],
        })  # fmt: skip
        for tagged in tags:
            top = image.diff_ids[-1].hex if image.diff_ids else image.id.hex
            repositories.setdefault(tagged.familiar_name, {})[str(tagged.tag)] = top
    tar.add_bytes("index.json", Index(tuple(index_entries)).to_json())
    tar.add_bytes("manifest.json", canonical.dumps(manifest_json))
    tar.add_bytes("oci-layout", OCI_LAYOUT)
    if repositories:
        tar.add_bytes("repositories", json.dumps(repositories).encode())


def _write_oci(store: Store, items: Sequence[SaveItem], tar: TarWriter) -> None:
    written: set[Digest] = set()
    index_entries: list[Descriptor] = []
    tar.add_dir("blobs")
    tar.add_dir("blobs/sha256")
    for item in items:
        image = item.image
        for digest in (*(layer.digest for layer in image.layers), image.id, image.manifest_digest):
            if digest not in written:
                written.add(digest)
                tar.add_file(f"blobs/sha256/{digest.hex}", store.blob_path(digest))
        manifest = store.manifest_descriptor(image.manifest_digest)
        names = [name for name in item.names if name.tag is not None]
        index_entries += [
            manifest.with_annotations(
                {media.CONTAINERD_NAME_ANNOTATION: str(name), media.REF_NAME_ANNOTATION: str(name)}
            )
            for name in names
        ] or [manifest]
    tar.add_bytes("index.json", Index(tuple(index_entries)).to_json())
    tar.add_bytes("oci-layout", OCI_LAYOUT)


def save(
    store: Store, refs: Sequence[str], out: BinaryIO, format: str = "docker"
) -> list[SaveItem]:
    """Write the images ``refs`` name to ``out`` as a docker-archive or oci-archive tar."""
    if format not in FORMATS:
        raise ArchiveError(f"unknown archive format {format!r}", "use --format docker or oci")
    if not refs:
        raise ArchiveError("save needs at least one image")
    store.hold()
    items = select(store, refs)
    tar = TarWriter(out)
    if format == "docker":
        _write_docker(store, items, tar)
    else:
        _write_oci(store, items, tar)
    tar.close()
    return items
