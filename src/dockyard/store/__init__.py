"""The content store: an OCI image layout with names, layers, leases and locks."""

from dockyard.store.blobs import BlobWriter
from dockyard.store.files import default_root
from dockyard.store.image import StoredImage
from dockyard.store.layers import Layer, LayerUnpacker
from dockyard.store.leases import Lease
from dockyard.store.reports import CheckReport, DiskUsage, GcReport
from dockyard.store.store import LayerWriter, Store
from dockyard.store.validate import validate_image

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
