"""The content store: an OCI image layout with names, layers, leases and locks."""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.store.blobs import BlobWriter
    from dockyard.store.files import default_root
    from dockyard.store.image import StoredImage
    from dockyard.store.layers import Layer, LayerUnpacker
    from dockyard.store.leases import Lease
    from dockyard.store.reports import CheckReport, DiskUsage, GcReport
    from dockyard.store.store import LayerWriter, Store
    from dockyard.store.validate import validate_image

# Loaded on first use (PEP 562): a build commits an image without the maintenance
# reports or the validator.
_HOME = {
    "BlobWriter": "blobs",
    "CheckReport": "reports",
    "DiskUsage": "reports",
    "GcReport": "reports",
    "Layer": "layers",
    "LayerUnpacker": "layers",
    "LayerWriter": "store",
    "Lease": "leases",
    "Store": "store",
    "StoredImage": "image",
    "default_root": "files",
    "validate_image": "validate",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"dockyard.store.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "BlobWriter",
    "CheckReport",
    "DiskUsage",
    "GcReport",
    "Layer",
    "LayerUnpacker",
    "LayerWriter",
    "Lease",
    "Store",
    "StoredImage",
    "default_root",
    "validate_image",
]
