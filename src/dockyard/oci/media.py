"""Media types of OCI and Docker (v2 schema 2) images."""

from __future__ import annotations

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYOUT_VERSION = "1.0.0"

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_ZSTD = "application/vnd.docker.image.rootfs.diff.tar.zstd"
DOCKER_FOREIGN_LAYER_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

MANIFESTS = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEXES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
CONFIGS = frozenset({OCI_CONFIG, DOCKER_CONFIG})
UNCOMPRESSED_LAYERS = frozenset({OCI_LAYER, DOCKER_LAYER})
GZIP_LAYERS = frozenset({OCI_LAYER_GZIP, DOCKER_LAYER_GZIP, DOCKER_FOREIGN_LAYER_GZIP})
ZSTD_LAYERS = frozenset({OCI_LAYER_ZSTD, DOCKER_LAYER_ZSTD})
LAYERS = UNCOMPRESSED_LAYERS | GZIP_LAYERS | ZSTD_LAYERS

# The config and layer media types that go with each manifest media type.
CONFIG_FOR_MANIFEST = {OCI_MANIFEST: OCI_CONFIG, DOCKER_MANIFEST: DOCKER_CONFIG}
_LAYER_FOR_MANIFEST = {
    OCI_MANIFEST: {"": OCI_LAYER, "gzip": OCI_LAYER_GZIP, "zstd": OCI_LAYER_ZSTD},
    DOCKER_MANIFEST: {"": DOCKER_LAYER, "gzip": DOCKER_LAYER_GZIP, "zstd": DOCKER_LAYER_ZSTD},
}

# Annotations of index.json entries that name an image.
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"
CONTAINERD_NAME_ANNOTATION = "io.containerd.image.name"
CREATED_ANNOTATION = "org.opencontainers.image.created"


def compression_of(media_type: str) -> str:
    """``""`` (uncompressed), ``"gzip"`` or ``"zstd"`` for a layer media type."""
    if media_type in GZIP_LAYERS:
        return "gzip"
    if media_type in ZSTD_LAYERS:
        return "zstd"
    return ""


def layer_media_type(manifest_media_type: str, compression: str) -> str:
    """The layer media type for a compression in the family of a manifest media type."""
    return _LAYER_FOR_MANIFEST[manifest_media_type][compression]


def convert_layer_media_type(media_type: str, manifest_media_type: str) -> str:
    """The same compression, named in the family (OCI or Docker) of ``manifest_media_type``."""
    return layer_media_type(manifest_media_type, compression_of(media_type))
