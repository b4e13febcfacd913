"""The Store: an OCI image layout with names, layers, leases and locks.

Locks (fcntl, so a killed process never leaves one behind):

- ``lock`` (exclusive) serialises every change of ``index.json``, diff_id records
  and leases: read-modify-write, then an atomic rename.
- ``gc.lock``: a Store that writes or reads blobs holds it shared until ``close()``;
  garbage collection takes it exclusively, so it never deletes a blob that a
  running command has written but not yet named.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO

from dockyard.compression import MAGIC_SIZE, decompressed, sniff_compression
from dockyard.digest import Digest
from dockyard.errors import ImageNotFoundError, StoreError
from dockyard.oci import Descriptor, ImageConfig, ImageReference, Manifest, media
from dockyard.store import refs
from dockyard.store.blobs import BlobStore, BlobWriter
from dockyard.store.files import FileLock, atomic_write, default_root
from dockyard.store.image import StoredImage
from dockyard.store.layers import DiffIdRecords, Layer, LayerUnpacker, UnpackedLayers
from dockyard.store.leases import Lease, Leases

if TYPE_CHECKING:
    from dockyard.store.reports import CheckReport, DiskUsage, GcReport

_HEX_PREFIX = re.compile(r"^[a-f0-9]{1,64}$")
OCI_LAYOUT = b'{"imageLayoutVersion":"1.0.0"}'


class LayerWriter:
    """Receives a compressed layer stream (from fs's tar writer) and stores it as a blob."""

    def __init__(self, store: Store, media_type: str) -> None:
        self._store = store
        self.media_type = media_type
        self._writer = store.ingest()
        self.layer: Layer | None = None

    @property
    def stream(self) -> BinaryIO:
        return self._writer.stream

    def commit(self, diff_id: Digest, uncompressed_size: int | None = None) -> Layer:
        if self.layer is not None:
            return self.layer
        if not media.compression_of(self.media_type) and diff_id != self._writer.digest:
            self._writer.abort()
            raise StoreError(f"uncompressed layer {self._writer.digest} has diff_id {diff_id}")
        descriptor = self._writer.commit(self.media_type)
        self.layer = Layer(descriptor, diff_id, uncompressed_size)
        self._store.record_layer(self.layer)
        return self.layer

    def __enter__(self) -> LayerWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._writer.close()


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = BlobStore(root)
        self.diff_ids = DiffIdRecords(root)
        self.unpacked = UnpackedLayers(root)
        self.lease_store = Leases(root)
        self.index_path = root / "index.json"
        self._refs_lock = FileLock(root / "lock")
        self._gc_lock = FileLock(root / "gc.lock")
        self._manifests: dict[Digest, tuple[bytes, Manifest]] = {}

    @classmethod
    def open(cls, root: Path | str | None = None) -> Store:
        path = Path(root) if root is not None else default_root()
        try:
            path.mkdir(parents=True, exist_ok=True)
            store = cls(path)
            store.blobs.create_dirs()
        except OSError as error:
            raise StoreError(
                f"cannot create the store at {path}: {error.strerror}",
                "set DOCKYARD_ROOT to a writable directory",
            ) from None
        layout = path / "oci-layout"
        if not layout.is_file() or not store.index_path.is_file():
            with store.locked():
                if not layout.is_file():
                    atomic_write(layout, OCI_LAYOUT)
                if not store.index_path.is_file():
                    refs.write_index(store.index_path, [])
        return store

    def close(self) -> None:
        self._gc_lock.release()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def hold(self) -> None:
        """Keep garbage collection away until ``close()`` (taken by writers and readers)."""
        self._gc_lock.acquire(exclusive=False)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """The refs lock: ``index.json``, diff_id records and leases change under it."""
        with self._refs_lock.exclusive():
            yield

    @contextlib.contextmanager
    def collecting(self, blocking: bool = True) -> Iterator[bool]:
        """Exclusive against every other Store user; yields False if not ``blocking`` and busy."""
        if not self._gc_lock.acquire(exclusive=True, blocking=blocking):
            yield False
            return
        try:
            yield True
        finally:
            self._gc_lock.release()

    # blobs

    def has_blob(self, digest: Digest) -> bool:
        return self.blobs.has(digest)

    def blob_path(self, digest: Digest) -> Path:
        return self.blobs.path(digest)

    def open_blob(self, digest: Digest) -> BinaryIO:
        self.hold()
        return self.blobs.open(digest)

    def read_blob(self, digest: Digest) -> bytes:
        return self.blobs.read(digest)

    def blob_compression(self, digest: Digest) -> str:
        """How a blob is compressed, read from its first bytes ("" for none).

        A layer's media type is a label, not a fact: skopeo copies uncompressed layers
        labelled ``+gzip``, and Docker reads the bytes. So does every reader here.
        """
        with self.open_blob(digest) as blob:
            return sniff_compression(blob.read(MAGIC_SIZE))

    def write_blob(self, data: bytes, media_type: str) -> Descriptor:
        self.hold()
        return self.blobs.write(data, media_type)

    def ingest(self, expected: Digest | None = None) -> BlobWriter:
        self.hold()
        return self.blobs.writer(expected)

    def add_blob_file(
        self, path: Path, media_type: str, expected: Digest | None = None, move: bool = False
    ) -> Descriptor:
        self.hold()
        return self.blobs.add_file(path, media_type, expected, move)

    # layers

    def layer_writer(self, media_type: str = media.OCI_LAYER_GZIP) -> LayerWriter:
        return LayerWriter(self, media_type)

    def record_layer(self, layer: Layer) -> None:
        with self.locked():
            self.diff_ids.record(layer)

    def layer_for_diff_id(self, diff_id: Digest, compressed: bool | None = None) -> Layer | None:
        """A stored blob for ``diff_id``; ``compressed`` True/False prefers that kind."""
        found = [layer for layer in self.diff_ids.lookup(diff_id) if self.has_blob(layer.digest)]
        if compressed is not None:
            found.sort(
                key=lambda known: (
                    bool(media.compression_of(known.descriptor.media_type)) != compressed
                )
            )
        return found[0] if found else None

    @contextlib.contextmanager
    def open_layer(self, layer: Layer | Descriptor) -> Iterator[BinaryIO]:
        """The uncompressed tar stream of a layer blob (compression by content)."""
        descriptor = layer.descriptor if isinstance(layer, Layer) else layer
        with self.open_blob(descriptor.digest) as blob, decompressed(blob) as stream:
            yield stream

    @property
    def layers_dir(self) -> Path:
        return self.unpacked.dir

    def unpacked_path(self, diff_id: Digest) -> Path | None:
        return self.unpacked.path(diff_id)

    def ensure_unpacked(self, diff_id: Digest, unpack: LayerUnpacker) -> Path:
        """The unpacked layer directory (overlay lowerdir form), unpacking it once."""
        self.hold()
        existing = self.unpacked.path(diff_id)
        if existing is not None:
            return existing
        layer = self.layer_for_diff_id(diff_id)
        if layer is None:
            raise StoreError(
                f"no blob for layer {diff_id} in the store",
                "load or pull the image that contains this layer",
            )
        with self.open_layer(layer) as tar:
            return self.unpacked.create(diff_id, tar, unpack)

    # images

    def entries(self) -> list[refs.RefEntry]:
        return refs.read_index(self.index_path)

    def _manifest(self, digest: Digest) -> tuple[bytes, Manifest]:
        cached = self._manifests.get(digest)
        if cached is None:
            data = self.blobs.read(digest)
            cached = (data, Manifest.from_json(data, f"manifest {digest}"))
            self._manifests[digest] = cached
        return cached

    def _load(self, digest: Digest, names: Sequence[ImageReference]) -> StoredImage:
        manifest_bytes, manifest = self._manifest(digest)
        config_bytes = self.blobs.read(manifest.config.digest)
        config = ImageConfig.from_json(config_bytes, f"image config {manifest.config.digest}")
        diff_ids = config.rootfs.diff_ids
        if len(diff_ids) != len(manifest.layers):
            raise StoreError(
                f"image {manifest.config.digest.short}: {len(manifest.layers)} layers but "
                f"{len(diff_ids)} diff_ids",
                "run 'dockyard system check'",
            )
        layers = []
        for descriptor, diff_id in zip(manifest.layers, diff_ids, strict=True):
            known = self.diff_ids.lookup(diff_id)
            # Unknown until measured (the media type may not tell: it is only a label).
            size = next((k.uncompressed_size for k in known if k.uncompressed_size), None)
            layers.append(Layer(descriptor, diff_id, size))
        return StoredImage(
            digest,
            manifest,
            manifest_bytes,
            config,
            config_bytes,
            tuple(layers),
            tuple(sorted(names, key=str)),
        )

    def images(self) -> list[StoredImage]:
        grouped: dict[Digest, list[ImageReference]] = {}
        for entry in self.entries():
            names = grouped.setdefault(entry.digest, [])
            if entry.name is not None:
                names.append(entry.name)
        return [self._load(digest, names) for digest, names in grouped.items()]

    def _names_of(self, manifest_digest: Digest) -> list[ImageReference]:
        return [e.name for e in self.entries() if e.digest == manifest_digest and e.name]

    def resolve(self, ref_or_id: str) -> Digest:
        """The manifest digest a name, ``name@digest``, image id or id prefix refers to."""
        entries = self.entries()
        text = ref_or_id.strip()
        prefix = text.removeprefix("sha256:")
        if text.startswith("sha256:") or (len(text) == 64 and _HEX_PREFIX.match(text)):
            found = self._by_id_prefix(entries, prefix)
            if found is not None:
                return found
            raise ImageNotFoundError(f"no such image: {ref_or_id}")
        try:
            reference: ImageReference | None = ImageReference.parse_tagged(text)
        except StoreError:
            reference = None
        if reference is not None:
            for entry in entries:
                if entry.name == reference:
                    return entry.digest
            if reference.digest is not None:
                for entry in entries:
                    if entry.digest == reference.digest:
                        return entry.digest
        if _HEX_PREFIX.match(text):
            found = self._by_id_prefix(entries, text)
            if found is not None:
                return found
        if reference is None:
            ImageReference.parse(text)  # raises the precise format error
        raise ImageNotFoundError(
            f"no such image: {ref_or_id}", "'dockyard images' lists the images of the store"
        )

    def _by_id_prefix(self, entries: Sequence[refs.RefEntry], prefix: str) -> Digest | None:
        candidates: dict[Digest, Digest] = {}  # image id -> manifest digest (named first)
        for entry in entries:
            config_digest = self._manifest(entry.digest)[1].config.digest
            if config_digest.hex.startswith(prefix) or entry.digest.hex.startswith(prefix):
                candidates.setdefault(config_digest, entry.digest)
        if len(candidates) > 1:
            raise StoreError(f"ambiguous image id prefix {prefix!r}", "give more digits of the id")
        return next(iter(candidates.values()), None)

    def manifest_descriptor(self, digest: Digest) -> Descriptor:
        """The descriptor of a stored manifest (media type and size from its bytes)."""
        data, manifest = self._manifest(digest)
        return Descriptor(manifest.media_type, digest, len(data))

    def manifests_of_id(self, image_id: Digest) -> set[Digest]:
        """Every stored manifest whose config is ``image_id``."""
        return {
            e.digest
            for e in self.entries()
            if self._manifest(e.digest)[1].config.digest == image_id
        }

    def image(self, ref_or_id: str) -> StoredImage:
        digest = self.resolve(ref_or_id)
        return self._load(digest, self._names_of(digest))

    def commit_image(
        self,
        config: ImageConfig,
        layers: Sequence[Layer],
        names: Sequence[str | ImageReference] = (),
        manifest_media_type: str = media.OCI_MANIFEST,
    ) -> StoredImage:
        """Write config and manifest for ``layers`` and give the image ``names``."""
        config = config.with_diff_ids(tuple(layer.diff_id for layer in layers))
        return self.commit_raw(config.to_json(), layers, names, manifest_media_type)

    def commit_raw(
        self,
        config_bytes: bytes,
        layers: Sequence[Layer],
        names: Sequence[str | ImageReference] = (),
        manifest_media_type: str = media.OCI_MANIFEST,
    ) -> StoredImage:
        """Like ``commit_image`` with the config's exact bytes (kept from an archive)."""
        config = ImageConfig.from_json(config_bytes)
        if config.rootfs.diff_ids != tuple(layer.diff_id for layer in layers):
            raise StoreError("the image config's diff_ids do not match its layers")
        config_descriptor = self.write_blob(
            config_bytes, media.CONFIG_FOR_MANIFEST[manifest_media_type]
        )
        layer_descriptors = tuple(
            Descriptor(
                media.convert_layer_media_type(layer.descriptor.media_type, manifest_media_type),
                layer.digest,
                layer.descriptor.size,
                layer.descriptor.annotations,
            )
            for layer in layers
        )
        manifest = Manifest(config_descriptor, layer_descriptors, manifest_media_type)
        manifest_descriptor = self.write_blob(manifest.to_json(), manifest_media_type)
        for layer in layers:
            self.record_layer(layer)
        return self.add_manifest(manifest_descriptor, names)

    def add_manifest(
        self, manifest: Descriptor, names: Sequence[str | ImageReference] = ()
    ) -> StoredImage:
        """Name a stored manifest (its config and layers must be stored)."""
        self.hold()
        _, parsed = self._manifest(manifest.digest)
        for descriptor in (parsed.config, *parsed.layers):
            if not self.has_blob(descriptor.digest):
                raise StoreError(
                    f"blob {descriptor.digest} of manifest {manifest.digest} is not in the store"
                )
        references = [self._parse_name(name, manifest.digest) for name in names]
        with self.locked():
            entries = self.entries()
            if not references:
                entries = refs.set_name(entries, manifest, None)
            for reference in references:
                entries = refs.set_name(entries, manifest, reference)
            refs.write_index(self.index_path, entries)
        names_now = [e.name for e in entries if e.digest == manifest.digest and e.name]
        return self._load(manifest.digest, names_now)

    @staticmethod
    def _parse_name(name: str | ImageReference, manifest_digest: Digest) -> ImageReference:
        reference = name if isinstance(name, ImageReference) else ImageReference.parse_tagged(name)
        if reference.digest is not None and reference.digest != manifest_digest:
            raise StoreError(
                f"{reference} does not match the image's manifest digest {manifest_digest}"
            )
        return reference

    def tag(self, ref_or_id: str, name: str | ImageReference) -> ImageReference:
        """Give an image another name (``docker tag``)."""
        digest = self.resolve(ref_or_id)
        reference = name if isinstance(name, ImageReference) else ImageReference.parse_tagged(name)
        if reference.digest is not None:
            raise StoreError(f"refusing to create a tag with a digest reference: {name}")
        with self.locked():
            refs.write_index(
                self.index_path,
                refs.set_name(self.entries(), self.manifest_descriptor(digest), reference),
            )
        return reference

    def untag(self, name: str | ImageReference) -> Digest:
        """Remove a name; the image stays (dangling if it was its last name)."""
        reference = name if isinstance(name, ImageReference) else ImageReference.parse_tagged(name)
        with self.locked():
            entries = self.entries()
            found = next((e for e in entries if e.name == reference), None)
            if found is None:
                raise ImageNotFoundError(f"no such image: {name}")
            refs.write_index(self.index_path, refs.remove_name(entries, reference))
        return found.digest

    def remove_image(self, ref_or_id: str, force: bool = False) -> list[str]:
        """``docker rmi``: untag a name, delete the image when no name is left."""
        from dockyard.store.removal import remove_image

        return remove_image(self, ref_or_id, force)

    def delete_manifests(self, digests: set[Digest]) -> None:
        with self.locked():
            entries = [e for e in self.entries() if e.digest not in digests]
            refs.write_index(self.index_path, entries)

    # leases

    def set_lease(
        self,
        name: str,
        images: Sequence[Digest] = (),
        blobs: Sequence[Digest] = (),
        diff_ids: Sequence[Digest] = (),
    ) -> Lease:
        with self.locked():
            return self.lease_store.set(name, images, blobs, diff_ids)

    def delete_lease(self, name: str) -> None:
        with self.locked():
            self.lease_store.delete(name)

    def leases(self) -> dict[str, Lease]:
        return self.lease_store.all()

    def image_users(self, image_id: Digest) -> list[str]:
        return [name for name, lease in self.leases().items() if image_id in lease.images]

    # maintenance

    def check(self, progress: Callable[[str], None] | None = None) -> CheckReport:
        from dockyard.store.maintenance import check

        return check(self, progress)

    def gc(self, blocking: bool = True) -> GcReport:
        from dockyard.store.maintenance import gc

        return gc(self, blocking)

    def prune_images(self, all_unused: bool = False) -> list[Digest]:
        from dockyard.store.maintenance import prune_images

        return prune_images(self, all_unused)

    def df(self) -> DiskUsage:
        from dockyard.store.maintenance import disk_usage

        return disk_usage(self)
