"""OCI image data: descriptors, manifests, indexes, image configs, references. No I/O."""

from dockyard.oci import media
from dockyard.oci.config import ContainerConfig, Healthcheck, History, ImageConfig, RootFS
from dockyard.oci.descriptor import Descriptor, Index, Manifest, Platform, media_type_of
from dockyard.oci.reference import ImageReference

__all__ = [
    "ContainerConfig",
    "Descriptor",
    "Healthcheck",
    "History",
    "ImageConfig",
    "ImageReference",
    "Index",
    "Manifest",
    "Platform",
    "RootFS",
    "media",
    "media_type_of",
]
