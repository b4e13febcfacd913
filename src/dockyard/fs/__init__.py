"""Filesystems: layers written and unpacked safely, safe paths, overlay mounts.

The public API (documented in each module):

- :func:`write_layer` — a directory tree or an overlay upper dir as a layer blob.
- :func:`write_diff` — the layer between two full trees (copying fallback).
- :func:`compress_tar` — an existing tar stream into a layer blob (read blobs back with
  ``dockyard.compression.decompressed``).
- :func:`unpack_layer` — a layer blob into a root (flatten or overlay lowerdir).
- :func:`resolve_in_root` — join a path inside a root, symlinks resolved in the root.
- :func:`mount_overlay`, :func:`unmount`, :func:`overlay` — overlayfs mounts.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.fs.compress import (
        MEDIA_TYPE_LAYER_GZIP,
        MEDIA_TYPE_LAYER_TAR,
        MEDIA_TYPE_LAYER_ZSTD,
        Compression,
        LayerBlob,
        compress_tar,
    )
    from dockyard.fs.diff import write_diff
    from dockyard.fs.layer import LayerKind, write_layer
    from dockyard.fs.safepath import resolve_in_root
    from dockyard.fs.snapshot import mount_overlay, overlay, overlay_supported, unmount
    from dockyard.fs.unpack import UnpackMode, UnpackResult, unpack_layer

# Loaded on first use (PEP 562): a command that needs one submodule (a cached build
# needs the layer writer, not the overlay mounts or the compressors) pays only for it.
_HOME = {
    "MEDIA_TYPE_LAYER_GZIP": "compress",
    "MEDIA_TYPE_LAYER_TAR": "compress",
    "MEDIA_TYPE_LAYER_ZSTD": "compress",
    "Compression": "compress",
    "LayerBlob": "compress",
    "compress_tar": "compress",
    "write_diff": "diff",
    "LayerKind": "layer",
    "write_layer": "layer",
    "resolve_in_root": "safepath",
    "mount_overlay": "snapshot",
    "overlay": "snapshot",
    "overlay_supported": "snapshot",
    "unmount": "snapshot",
    "UnpackMode": "unpack",
    "UnpackResult": "unpack",
    "unpack_layer": "unpack",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"dockyard.fs.{home}"), name)
    globals()[name] = value
    return value


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
    "overlay",
    "overlay_supported",
    "resolve_in_root",
    "unmount",
    "unpack_layer",
    "write_diff",
    "write_layer",
]
