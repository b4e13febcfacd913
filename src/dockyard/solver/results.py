"""What solving a vertex gives: a filesystem snapshot (a chain of layers) or a directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LayerRef:
    """One stored layer of a snapshot."""

    diff_id: str
    digest: str
    size: int
    media_type: str
    created: str = ""


@dataclass(frozen=True)
class Snapshot:
    """A filesystem: the layers from the bottom up. ``key`` is its cache key.

    ``empty`` says the step that made it changed nothing (its layer is dropped and
    its history entry marked ``empty_layer``, as BuildKit does); ``created`` is when
    the step's layer was first built.
    """

    key: str
    layers: tuple[LayerRef, ...]
    created: str = ""
    empty: bool = False
    cached: bool = False


@dataclass(frozen=True)
class ContextDir:
    """The local build context."""

    key: str
    path: Path


Result = Snapshot | ContextDir
