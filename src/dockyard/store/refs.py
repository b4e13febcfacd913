"""``index.json``: the names of the store, one entry per (manifest, name).

Each named entry carries the full normalised reference in both
``org.opencontainers.image.ref.name`` (what ``skopeo oci:ROOT:REF`` matches) and
``io.containerd.image.name``. An image without any name keeps one entry without
annotations (a dangling image, ``<none>`` in ``dockyard images``), so that garbage
collection, which keeps everything ``index.json`` reaches, keeps it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dockyard.digest import Digest
from dockyard.errors import StoreError
from dockyard.oci import Descriptor, ImageReference, Index, media
from dockyard.store.files import atomic_write


@dataclass(frozen=True)
class RefEntry:
    manifest: Descriptor
    name: ImageReference | None

    @property
    def digest(self) -> Digest:
        return self.manifest.digest

    def to_descriptor(self) -> Descriptor:
        if self.name is None:
            return self.manifest.with_annotations({})
        full = str(self.name)
        return self.manifest.with_annotations(
            {media.REF_NAME_ANNOTATION: full, media.CONTAINERD_NAME_ANNOTATION: full}
        )


def _name_of(descriptor: Descriptor) -> ImageReference | None:
    annotations = descriptor.annotations
    text = annotations.get(media.CONTAINERD_NAME_ANNOTATION) or annotations.get(
        media.REF_NAME_ANNOTATION
    )
    if not text:
        return None
    try:
        return ImageReference.parse_tagged(text)
    except StoreError:
        return None


def read_index(path: Path) -> list[RefEntry]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    index = Index.from_json(data, f"store index {path}")
    entries = []
    for descriptor in index.manifests:
        plain = descriptor.with_annotations({})
        entries.append(RefEntry(plain, _name_of(descriptor)))
    return entries


def write_index(path: Path, entries: Sequence[RefEntry]) -> None:
    ordered = sorted(
        _normalise(entries), key=lambda e: (e.name is None, str(e.name or ""), str(e.digest))
    )
    index = Index(tuple(entry.to_descriptor() for entry in ordered))
    atomic_write(path, index.to_json() + b"\n")


def _normalise(entries: Sequence[RefEntry]) -> list[RefEntry]:
    """One entry per name; a nameless entry only for manifests that have no name."""
    by_name: dict[ImageReference, RefEntry] = {}
    nameless: dict[Digest, RefEntry] = {}
    for entry in entries:
        if entry.name is None:
            nameless.setdefault(entry.digest, entry)
        else:
            by_name[entry.name] = entry
    named_digests = {entry.digest for entry in by_name.values()}
    kept = [entry for digest, entry in nameless.items() if digest not in named_digests]
    return list(by_name.values()) + kept


def set_name(
    entries: Sequence[RefEntry], manifest: Descriptor, name: ImageReference | None
) -> list[RefEntry]:
    """Point ``name`` at ``manifest``; an image that loses its last name stays, dangling."""
    result: list[RefEntry] = []
    for entry in entries:
        if name is not None and entry.name == name:
            result.append(RefEntry(entry.manifest, None))
        else:
            result.append(entry)
    result.append(RefEntry(manifest.with_annotations({}), name))
    return _normalise(result)


def remove_name(entries: Sequence[RefEntry], name: ImageReference) -> list[RefEntry]:
    result = [RefEntry(e.manifest, None) if e.name == name else e for e in entries]
    return _normalise(result)


def remove_manifest(entries: Sequence[RefEntry], digest: Digest) -> list[RefEntry]:
    return [entry for entry in entries if entry.digest != digest]
