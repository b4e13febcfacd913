"""Descriptors, platforms, manifests and indexes (OCI image spec, Docker schema 2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dockyard.digest import Digest
from dockyard.errors import StoreError
from dockyard.oci import media
from dockyard.oci.canonical import (
    JSONObject,
    dumps,
    get_int,
    get_obj,
    get_str,
    get_str_list,
    get_str_map,
    loads,
    sorted_map,
)


def _digest(obj: Mapping[str, Any], what: str) -> Digest:
    text = get_str(obj, "digest", what)
    if not Digest.is_valid(text):
        raise StoreError(f"{what}: unsupported or invalid digest {text!r}")
    return Digest(text)


@dataclass(frozen=True)
class Platform:
    os: str = "linux"
    architecture: str = "amd64"
    variant: str = ""
    os_version: str = ""
    os_features: tuple[str, ...] = ()

    def to_dict(self) -> JSONObject:
        out: JSONObject = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            out["os.version"] = self.os_version
        if self.os_features:
            out["os.features"] = list(self.os_features)
        if self.variant:
            out["variant"] = self.variant
        return out

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Platform:
        what = "platform"
        return cls(
            os=get_str(obj, "os", what),
            architecture=get_str(obj, "architecture", what),
            variant=get_str(obj, "variant", what),
            os_version=get_str(obj, "os.version", what),
            os_features=get_str_list(obj, "os.features", what) or (),
        )

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


@dataclass(frozen=True)
class Descriptor:
    """Points at a blob: media type, digest, size (and optional annotations/platform)."""

    media_type: str
    digest: Digest
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    platform: Platform | None = None
    urls: tuple[str, ...] = ()

    def to_dict(self) -> JSONObject:
        out: JSONObject = {
            "mediaType": self.media_type,
            "digest": str(self.digest),
            "size": self.size,
        }
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = sorted_map(self.annotations)
        if self.platform is not None:
            out["platform"] = self.platform.to_dict()
        return out

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any], what: str = "descriptor") -> Descriptor:
        if not isinstance(obj, Mapping):
            raise StoreError(f"{what} is not a JSON object")
        platform = get_obj(obj, "platform", what)
        size = get_int(obj, "size", what, default=-1)
        if size < 0:
            raise StoreError(f"{what}: missing or negative size")
        return cls(
            media_type=get_str(obj, "mediaType", what),
            digest=_digest(obj, what),
            size=size,
            annotations=get_str_map(obj, "annotations", what),
            platform=Platform.from_dict(platform) if platform is not None else None,
            urls=get_str_list(obj, "urls", what) or (),
        )

    def with_annotations(self, annotations: Mapping[str, str]) -> Descriptor:
        return Descriptor(
            self.media_type, self.digest, self.size, dict(annotations), self.platform, self.urls
        )


@dataclass(frozen=True)
class Manifest:
    """An image manifest: one config and the layers, bottom first."""

    config: Descriptor
    layers: tuple[Descriptor, ...]
    media_type: str = media.OCI_MANIFEST
    annotations: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> JSONObject:
        out: JSONObject = {
            "schemaVersion": 2,
            "mediaType": self.media_type,
            "config": self.config.to_dict(),
            "layers": [layer.to_dict() for layer in self.layers],
        }
        if self.annotations:
            out["annotations"] = sorted_map(self.annotations)
        return out

    def to_json(self) -> bytes:
        return dumps(self.to_dict())

    @classmethod
    def from_json(cls, data: bytes, what: str = "manifest") -> Manifest:
        obj = loads(data, what)
        if get_int(obj, "schemaVersion", what) != 2:
            raise StoreError(f"{what}: schemaVersion must be 2")
        media_type = get_str(obj, "mediaType", what, default=media.OCI_MANIFEST)
        if media_type not in media.MANIFESTS:
            raise StoreError(f"{what}: not an image manifest (media type {media_type!r})")
        config = get_obj(obj, "config", what)
        if config is None:
            raise StoreError(f"{what}: no config descriptor")
        layers = obj.get("layers") or []
        if not isinstance(layers, list):
            raise StoreError(f"{what}: layers must be a list")
        return cls(
            config=Descriptor.from_dict(config, f"{what} config"),
            layers=tuple(Descriptor.from_dict(layer, f"{what} layer") for layer in layers),
            media_type=media_type,
            annotations=get_str_map(obj, "annotations", what),
        )


@dataclass(frozen=True)
class Index:
    """An image index (or Docker manifest list); also the ``index.json`` of a layout."""

    manifests: tuple[Descriptor, ...] = ()
    media_type: str = media.OCI_INDEX
    annotations: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> JSONObject:
        out: JSONObject = {
            "schemaVersion": 2,
            "mediaType": self.media_type,
            "manifests": [manifest.to_dict() for manifest in self.manifests],
        }
        if self.annotations:
            out["annotations"] = sorted_map(self.annotations)
        return out

    def to_json(self) -> bytes:
        return dumps(self.to_dict())

    @classmethod
    def from_json(cls, data: bytes, what: str = "index") -> Index:
        obj = loads(data, what)
        if get_int(obj, "schemaVersion", what) != 2:
            raise StoreError(f"{what}: schemaVersion must be 2")
        media_type = get_str(obj, "mediaType", what, default=media.OCI_INDEX)
        if media_type not in media.INDEXES:
            raise StoreError(f"{what}: not an image index (media type {media_type!r})")
        manifests = obj.get("manifests") or []
        if not isinstance(manifests, list):
            raise StoreError(f"{what}: manifests must be a list")
        return cls(
            manifests=tuple(Descriptor.from_dict(m, f"{what} entry") for m in manifests),
            media_type=media_type,
            annotations=get_str_map(obj, "annotations", what),
        )


def media_type_of(data: bytes, what: str = "document") -> str:
    """The media type a manifest or index document declares (or implies)."""
    obj = loads(data, what)
    declared = get_str(obj, "mediaType", what)
    if declared:
        return declared
    if "manifests" in obj:
        return media.OCI_INDEX
    if "config" in obj:
        return media.OCI_MANIFEST
    raise StoreError(f"{what} is neither a manifest nor an index")


def descriptor_for(
    media_type: str, data: bytes, annotations: Sequence[tuple[str, str]] = ()
) -> Descriptor:
    """The descriptor of an in-memory blob."""
    return Descriptor(media_type, Digest.of_bytes(data), len(data), dict(annotations))
