"""Leases: named holds on images, blobs and unpacked layers (containers, build cache).

A lease keeps what it names from garbage collection; an image held by a lease is
not removed by ``rmi`` without ``--force``. Containers hold ``container/<id>``.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dockyard.digest import Digest
from dockyard.errors import StoreError
from dockyard.store.files import atomic_write


@dataclass(frozen=True)
class Lease:
    name: str
    images: tuple[Digest, ...] = ()
    blobs: tuple[Digest, ...] = ()
    diff_ids: tuple[Digest, ...] = ()


def _digests(values: object, what: str) -> tuple[Digest, ...]:
    if not isinstance(values, list):
        return ()
    result = []
    for value in values:
        if not isinstance(value, str) or not Digest.is_valid(value):
            raise StoreError(f"{what}: invalid digest {value!r}")
        result.append(Digest(value))
    return tuple(result)


class Leases:
    def __init__(self, root: Path) -> None:
        self.dir = root / "leases"

    def _path(self, name: str) -> Path:
        if not name:
            raise StoreError("a lease needs a name")
        return self.dir / (urllib.parse.quote(name, safe="") + ".json")

    def set(
        self,
        name: str,
        images: Iterable[Digest],
        blobs: Iterable[Digest],
        diff_ids: Iterable[Digest],
    ) -> Lease:
        lease = Lease(name, tuple(images), tuple(blobs), tuple(diff_ids))
        body = {
            "name": name,
            "images": [str(d) for d in lease.images],
            "blobs": [str(d) for d in lease.blobs],
            "diff_ids": [str(d) for d in lease.diff_ids],
        }
        self.dir.mkdir(exist_ok=True)
        atomic_write(self._path(name), json.dumps(body).encode())
        return lease

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def all(self) -> dict[str, Lease]:
        if not self.dir.is_dir():
            return {}
        found: dict[str, Lease] = {}
        for entry in sorted(os.scandir(self.dir), key=lambda e: e.name):
            if not entry.name.endswith(".json") or entry.name.startswith("."):
                continue
            what = f"lease {entry.path}"
            try:
                body = json.loads(Path(entry.path).read_bytes())
            except (OSError, ValueError) as error:
                raise StoreError(f"{what} is unreadable: {error}") from None
            name = urllib.parse.unquote(entry.name.removesuffix(".json"))
            found[name] = Lease(
                name,
                _digests(body.get("images"), what),
                _digests(body.get("blobs"), what),
                _digests(body.get("diff_ids"), what),
            )
        return found
