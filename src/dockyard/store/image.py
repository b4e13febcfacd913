"""A stored image: manifest, config and layers, read from the store."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.digest import Digest
from dockyard.oci import ImageConfig, ImageReference, Manifest
from dockyard.store.layers import Layer


@dataclass(frozen=True)
class StoredImage:
    """An image of the store. ``id`` is the config digest, as in Docker."""

    manifest_digest: Digest
    manifest: Manifest
    manifest_bytes: bytes
    config: ImageConfig
    config_bytes: bytes
    layers: tuple[Layer, ...]
    names: tuple[ImageReference, ...]

    @property
    def id(self) -> Digest:
        return self.manifest.config.digest

    @property
    def diff_ids(self) -> tuple[Digest, ...]:
        return tuple(layer.diff_id for layer in self.layers)

    @property
    def repo_tags(self) -> list[str]:
        return sorted(name.familiar() for name in self.names if name.tag is not None)

    @property
    def repo_digests(self) -> list[str]:
        digests = {
            f"{name.familiar_name}@{name.digest}" for name in self.names if name.digest is not None
        }
        return sorted(digests)

    @property
    def size(self) -> int:
        """Uncompressed size of the layers (what ``docker images`` shows), best known."""
        return sum(
            layer.uncompressed_size
            if layer.uncompressed_size is not None
            else layer.descriptor.size
            for layer in self.layers
        )

    @property
    def compressed_size(self) -> int:
        return self.manifest.config.size + sum(layer.descriptor.size for layer in self.layers)

    @property
    def created(self) -> str:
        return self.config.created

    def manifest_descriptor_dict(self) -> dict[str, object]:
        return {
            "mediaType": self.manifest.media_type,
            "digest": str(self.manifest_digest),
            "size": len(self.manifest_bytes),
        }

    def display_name(self) -> str:
        tags = self.repo_tags
        return tags[0] if tags else self.id.short
