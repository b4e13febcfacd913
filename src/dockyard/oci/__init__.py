"""OCI image data: descriptors, manifests, indexes, image configs, references. No I/O."""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.oci import media
    from dockyard.oci.config import ContainerConfig, Healthcheck, History, ImageConfig, RootFS
    from dockyard.oci.descriptor import Descriptor, Index, Manifest, Platform, media_type_of
    from dockyard.oci.reference import ImageReference

# Loaded on first use (PEP 562): writing a blob needs descriptors, not image configs.
_HOME = {
    "ContainerConfig": "config",
    "Descriptor": "descriptor",
    "Healthcheck": "config",
    "History": "config",
    "ImageConfig": "config",
    "ImageReference": "reference",
    "Index": "descriptor",
    "Manifest": "descriptor",
    "Platform": "descriptor",
    "RootFS": "config",
    "media_type_of": "descriptor",
}


def __getattr__(name: str) -> Any:
    if name == "media":
        return importlib.import_module("dockyard.oci.media")
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"dockyard.oci.{home}"), name)
    globals()[name] = value
    return value


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
