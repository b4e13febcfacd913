"""``load``: docker-archive (legacy and Docker 25+ layouts) and oci-archive into the store.

The archive is read once, as a stream: every large member goes straight into the
store's ingest as it is read (hashed on the way), small metadata stays in memory.
When the whole archive has been read, ``manifest.json`` (docker) or ``index.json``
(OCI) says which blobs are configs and layers; only then are names written, so a
kill at any point leaves, at worst, unnamed blobs that ``system prune`` removes.
"""

from __future__ import annotations

import json
import os
import posixpath
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

from dockyard.compression import sniff_compression
from dockyard.digest import Digest
from dockyard.errors import ArchiveError, DockyardError, StoreError
from dockyard.oci import Descriptor, ImageConfig, ImageReference, Index, Manifest, media
from dockyard.store import Layer, Store, StoredImage
from dockyard.store.validate import DiffIdCache, layer_diff_id

from .tarstream import CHUNK, ArchiveTar, open_tar

_SMALL = 1 << 20
_METADATA = {"manifest.json", "repositories", "index.json", "oci-layout"}


class Member(NamedTuple):  # not a dataclass: 0.06 ms to define instead of 0.7
    """An archive member: in memory (small metadata) or ingested as a blob."""

    data: bytes | None
    descriptor: Descriptor | None
    compression: str


@dataclass(frozen=True)
class LoadedImage:
    image: StoredImage
    names: tuple[ImageReference, ...]


def _normal(name: str) -> str:
    return posixpath.normpath(name.lstrip("/")).removeprefix("./")


def _read_members(store: Store, archive: ArchiveTar) -> dict[str, Member]:
    members: dict[str, Member] = {}
    tar = archive.tar
    for info in tar:
        if not info.isfile():
            continue
        name = _normal(info.name)
        base = posixpath.basename(name)
        if info.size <= _SMALL and (
            name in _METADATA or base in ("json", "VERSION") or name.endswith(".json")
        ):
            source = tar.extractfile(info)
            if source is not None:
                members[name] = Member(source.read(), None, "")
            continue
        expected = None
        if name.startswith("blobs/sha256/") and Digest.is_valid("sha256:" + base):
            expected = Digest("sha256:" + base)
        members[name] = _ingest_member(store, archive, info, expected)
    return members


def _ingest_member(
    store: Store, archive: ArchiveTar, info: tarfile.TarInfo, expected: Digest | None
) -> Member:
    """Copy a member into the store: in place from a plain archive file, else from
    the tar stream."""
    with store.ingest(expected) as writer:
        if archive.fd is not None and not info.issparse():
            head = os.pread(archive.fd, 8, info.offset_data)
            try:
                writer.copy_range(archive.fd, info.offset_data, info.size)
            except StoreError:
                raise ArchiveError(f"archive member {info.name} is truncated") from None
        else:
            source = archive.tar.extractfile(info)
            assert source is not None  # a regular file
            head = source.read(CHUNK)
            writer.write(head)
            writer.copy_from(source)  # type: ignore[arg-type]
        if writer.size != info.size:
            raise ArchiveError(f"archive member {info.name} is truncated")
        return Member(None, writer.commit("application/octet-stream"), sniff_compression(head))


class _Loader:
    def __init__(self, store: Store, members: dict[str, Member]) -> None:
        self.store = store
        self.members = members
        self.cache = DiffIdCache()

    def bytes_of(self, name: str) -> bytes:
        member = self.members.get(_normal(name))
        if member is None:
            raise ArchiveError(f"the archive has no {name}")
        if member.data is not None:
            return member.data
        assert member.descriptor is not None
        return self.store.read_blob(member.descriptor.digest)

    def blob_bytes(self, digest: Digest) -> bytes:
        member = self.members.get(f"blobs/sha256/{digest.hex}")
        if member is not None and member.data is not None:
            if Digest.of_bytes(member.data) != digest:
                raise ArchiveError(f"blob {digest} in the archive does not match its digest")
            return member.data
        return self.store.read_blob(digest)

    def layer(self, name: str, diff_id: Digest, media_type: str | None = None) -> Layer:
        member = self.members.get(_normal(name))
        if member is None or member.descriptor is None:
            if member is not None and member.data is not None:
                descriptor = self.store.write_blob(member.data, "application/octet-stream")
                member = Member(None, descriptor, sniff_compression(member.data[:8]))
            else:
                raise ArchiveError(f"the archive has no layer {name}")
        assert member.descriptor is not None
        if media_type is None:
            media_type = media.layer_media_type(media.OCI_MANIFEST, member.compression)
        descriptor = Descriptor(media_type, member.descriptor.digest, member.descriptor.size)
        actual = layer_diff_id(self.store, descriptor, self.cache)
        if actual != diff_id:
            raise ArchiveError(
                f"layer {name} has diff_id {actual}, the image config says {diff_id}",
                "the archive is corrupt",
            )
        size = descriptor.size if not member.compression else None  # by content
        return Layer(descriptor, diff_id, size)

    def commit(
        self, config_bytes: bytes, layers: Sequence[Layer], names: Sequence[ImageReference]
    ) -> LoadedImage:
        config_digest = Digest.of_bytes(config_bytes)
        existing = self.store.manifests_of_id(config_digest)
        if existing:
            descriptor = self.store.manifest_descriptor(sorted(existing)[0])
            image = self.store.add_manifest(descriptor, names)
        else:
            image = self.store.commit_raw(config_bytes, layers, names)
        return LoadedImage(image, tuple(names))


def _names(tags: object, what: str) -> list[ImageReference]:
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ArchiveError(f"{what}: RepoTags must be a list of names")
    try:
        return [ImageReference.parse_tagged(tag) for tag in tags]
    except StoreError as error:
        raise ArchiveError(f"{what}: {error.message}") from None


def _load_docker(loader: _Loader) -> list[LoadedImage]:
    try:
        entries = json.loads(loader.bytes_of("manifest.json"))
    except ValueError as error:
        raise ArchiveError(f"manifest.json is not valid JSON: {error}") from None
    if not isinstance(entries, list):
        raise ArchiveError("manifest.json must be a list of images")
    loaded = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str):
            raise ArchiveError("manifest.json: every entry needs a Config")
        config_bytes = loader.bytes_of(entry["Config"])
        config = ImageConfig.from_json(config_bytes, f"image config {entry['Config']}")
        layer_names = entry.get("Layers") or []
        if len(layer_names) != len(config.rootfs.diff_ids):
            raise ArchiveError(
                f"{entry['Config']}: {len(layer_names)} layers for "
                f"{len(config.rootfs.diff_ids)} diff_ids"
            )
        layers = [
            loader.layer(name, diff_id)
            for name, diff_id in zip(layer_names, config.rootfs.diff_ids, strict=True)
        ]
        loaded.append(
            loader.commit(config_bytes, layers, _names(entry.get("RepoTags"), "manifest.json"))
        )
    return loaded


def _oci_name(descriptor: Descriptor) -> list[ImageReference]:
    annotations = descriptor.annotations
    text = annotations.get(media.CONTAINERD_NAME_ANNOTATION, "")
    ref_name = annotations.get(media.REF_NAME_ANNOTATION, "")
    if not text and any(c in ref_name for c in ":/@"):
        text = ref_name
    if not text:
        return []
    try:
        return [ImageReference.parse_tagged(text)]
    except StoreError:
        return []


def _manifests(loader: _Loader, descriptor: Descriptor) -> list[Descriptor]:
    """Image manifests under a descriptor (an index: the linux/amd64 one, else the first)."""
    if descriptor.media_type in media.MANIFESTS:
        return [descriptor]
    if descriptor.media_type not in media.INDEXES:
        return []
    index = Index.from_json(loader.blob_bytes(descriptor.digest), f"index {descriptor.digest}")
    candidates = [m for m in index.manifests if m.media_type in media.MANIFESTS]
    for candidate in candidates:
        if candidate.platform and (candidate.platform.os, candidate.platform.architecture) == (
            "linux",
            "amd64",
        ):
            return [candidate]
    return candidates[:1]


def _load_oci(loader: _Loader) -> list[LoadedImage]:
    index = Index.from_json(loader.bytes_of("index.json"), "index.json")
    wanted: dict[Digest, tuple[Descriptor, list[ImageReference]]] = {}
    for entry in index.manifests:
        names = _oci_name(entry)
        for descriptor in _manifests(loader, entry):
            known = wanted.setdefault(descriptor.digest, (descriptor, []))
            known[1].extend(name for name in names if name not in known[1])
    loaded = []
    for descriptor, names in wanted.values():
        manifest_bytes = loader.blob_bytes(descriptor.digest)
        manifest = Manifest.from_json(manifest_bytes, f"manifest {descriptor.digest}")
        config_bytes = loader.blob_bytes(manifest.config.digest)
        config = ImageConfig.from_json(config_bytes)
        if len(manifest.layers) != len(config.rootfs.diff_ids):
            raise ArchiveError(f"manifest {descriptor.digest}: layers and diff_ids differ")
        for layer, diff_id in zip(manifest.layers, config.rootfs.diff_ids, strict=True):
            stored_layer = loader.layer(
                f"blobs/sha256/{layer.digest.hex}", diff_id, layer.media_type
            )
            loader.store.record_layer(stored_layer)
        loader.store.write_blob(config_bytes, manifest.config.media_type)
        stored = loader.store.write_blob(manifest_bytes, manifest.media_type)
        image = loader.store.add_manifest(stored, names)
        loaded.append(LoadedImage(image, tuple(names)))
    return loaded


def load(store: Store, source: Path | BinaryIO) -> list[LoadedImage]:
    """Load every image of a docker-archive or oci-archive (plain or compressed)."""
    what = str(source) if isinstance(source, Path) else "the input"
    with open_tar(source, what) as archive:
        try:
            members = _read_members(store, archive)
        except (tarfile.TarError, EOFError) as error:
            raise ArchiveError(f"{what} is truncated or not a tar archive: {error}") from None
        except OSError as error:
            raise ArchiveError(f"cannot read {what}: {error}") from None
    loader = _Loader(store, members)
    try:
        if "index.json" in members and "oci-layout" in members:
            return _load_oci(loader)
        if "manifest.json" in members:
            return _load_docker(loader)
    except DockyardError:
        raise
    raise ArchiveError(
        f"{what} is neither a docker-archive nor an oci-archive",
        "expected manifest.json (docker save) or oci-layout and index.json (OCI)",
    )


def uncompressed_size(store: Store, layer: Layer) -> int:
    """The tar size of a layer, decompressing it once when it was never recorded."""
    if layer.uncompressed_size is not None:
        return layer.uncompressed_size
    if not store.blob_compression(layer.digest):
        return layer.descriptor.size
    total = 0
    with store.open_layer(layer) as stream:
        while chunk := stream.read(CHUNK):
            total += len(chunk)
    store.record_layer(Layer(layer.descriptor, layer.diff_id, total))
    return total
