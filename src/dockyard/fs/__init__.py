"""Filesystems: layers written and unpacked safely, safe paths, overlay mounts.

The public API (documented in each module):

- :func:`write_layer` — a directory tree or an overlay upper dir as a layer blob.
- :func:`write_diff` — the layer between two full trees (copying fallback).
- :func:`compress_tar`, :func:`open_layer` — existing tar streams in and out of blobs.
- :func:`unpack_layer` — a layer blob into a root (flatten or overlay lowerdir).
- :func:`resolve_in_root` — join a path inside a root, symlinks resolved in the root.
- :func:`mount_overlay`, :func:`unmount`, :func:`overlay` — overlayfs mounts.
"""

from dockyard.fs.compress import (
    MEDIA_TYPE_LAYER_GZIP,
    MEDIA_TYPE_LAYER_TAR,
    MEDIA_TYPE_LAYER_ZSTD,
    Compression,
    LayerBlob,
    compress_tar,
    open_layer,
)
from dockyard.fs.diff import write_diff
from dockyard.fs.layer import LayerKind, write_layer
from dockyard.fs.safepath import resolve_in_root
from dockyard.fs.snapshot import mount_overlay, overlay, overlay_supported, unmount
from dockyard.fs.unpack import UnpackMode, UnpackResult, unpack_layer

__all__ = [
    "MEDIA_TYPE_LAYER_GZIP",
    "MEDIA_TYPE_LAYER_TAR",
    "MEDIA_TYPE_LAYER_ZSTD",
    "Compression",
    "LayerBlob",
    "LayerKind",
    "UnpackMode",
    "UnpackResult",
    "compress_tar",
    "mount_overlay",
    "open_layer",
    "overlay",
    "overlay_supported",
    "resolve_in_root",
    "unmount",
    "unpack_layer",
    "write_diff",
    "write_layer",
]
