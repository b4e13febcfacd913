"""Results of the store's maintenance commands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dockyard.digest import Digest


@dataclass(frozen=True)
class CheckReport:
    """``system check``: problems make the store unclean; leftovers of killed commands don't."""

    problems: tuple[str, ...]
    warnings: tuple[str, ...]
    leftovers: tuple[Path, ...]
    blobs_checked: int
    images_checked: int
    layers_checked: int

    @property
    def clean(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class GcReport:
    removed_blobs: tuple[Digest, ...] = ()
    removed_layers: tuple[str, ...] = ()
    removed_leftovers: int = 0
    reclaimed_bytes: int = 0
    skipped: bool = False


@dataclass(frozen=True)
class DiskUsage:
    images: int
    images_size: int
    blobs: int
    blobs_size: int
    unpacked_layers: int
    unpacked_size: int
    reclaimable_blobs_size: int
    leases: int
