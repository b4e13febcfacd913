"""Layers: the diff_id → blob records and the unpacked layer directories.

``diffids/<hex>.json`` remembers which blobs hold a diff_id (a gzip'd and a plain
blob may both exist) and its uncompressed size. ``layers/<short>/`` holds one
unpacked layer: ``diff/`` (the overlay lowerdir) and ``layer.json``; it is built in a
``.tmp-*`` directory and renamed, and removed by renaming it to ``.trash-*`` first,
so a kill never leaves a half-unpacked or half-removed layer under its name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dockyard.digest import Digest
from dockyard.errors import StoreError
from dockyard.oci import Descriptor
from dockyard.store.files import atomic_write, is_temp_name, temp_name

SHORT_ID_LENGTH = 20
LayerUnpacker = Callable[[BinaryIO, Path], object]


@dataclass(frozen=True)
class Layer:
    """A layer blob and the digest of its uncompressed tar."""

    descriptor: Descriptor
    diff_id: Digest
    uncompressed_size: int | None = None

    @property
    def digest(self) -> Digest:
        return self.descriptor.digest


def short_id(diff_id: Digest) -> str:
    return diff_id.hex[:SHORT_ID_LENGTH]


class DiffIdRecords:
    def __init__(self, root: Path) -> None:
        self.dir = root / "diffids"

    def _path(self, diff_id: Digest) -> Path:
        return self.dir / f"{diff_id.hex}.json"

    def _read(self, diff_id: Digest) -> dict[str, object]:
        try:
            value = json.loads(self._path(diff_id).read_bytes())
        except (FileNotFoundError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def lookup(self, diff_id: Digest) -> list[Layer]:
        record = self._read(diff_id)
        size = record.get("size")
        blobs = record.get("blobs")
        if not isinstance(blobs, list):
            return []
        return [
            Layer(Descriptor.from_dict(blob), diff_id, size if isinstance(size, int) else None)
            for blob in blobs
        ]

    def record(self, layer: Layer) -> None:
        """Add a blob for a diff_id (the caller holds the refs lock)."""
        existing = self.lookup(layer.diff_id)
        known_size = next((k.uncompressed_size for k in existing if k.uncompressed_size), None)
        size = layer.uncompressed_size if layer.uncompressed_size is not None else known_size
        if any(known.digest == layer.digest for known in existing) and size == known_size:
            return
        blobs = [known.descriptor.to_dict() for known in existing if known.digest != layer.digest]
        blobs.append(layer.descriptor.to_dict())
        self.dir.mkdir(exist_ok=True)
        body = {"diff_id": str(layer.diff_id), "size": size, "blobs": blobs}
        atomic_write(self._path(layer.diff_id), json.dumps(body).encode(), durable=False)

    def all(self) -> Iterator[Digest]:
        if not self.dir.is_dir():
            return
        for entry in os.scandir(self.dir):
            name = entry.name.removesuffix(".json")
            if entry.name.endswith(".json") and Digest.is_valid(f"sha256:{name}"):
                yield Digest(f"sha256:{name}")

    def forget_blobs(self, digests: set[Digest]) -> None:
        """Drop deleted blobs from every record (before the blobs are deleted)."""
        for diff_id in list(self.all()):
            layers = self.lookup(diff_id)
            kept = [layer for layer in layers if layer.digest not in digests]
            if len(kept) == len(layers):
                continue
            if not kept:
                self._path(diff_id).unlink(missing_ok=True)
                continue
            body = {
                "diff_id": str(diff_id),
                "size": layers[0].uncompressed_size,
                "blobs": [layer.descriptor.to_dict() for layer in kept],
            }
            atomic_write(self._path(diff_id), json.dumps(body).encode(), durable=False)


def tree_digest(top: Path) -> Digest:
    """A digest of a directory tree: names, types, modes, owners, mtimes, xattrs, content."""
    hasher = hashlib.sha256()

    def visit(directory: Path, prefix: str) -> None:
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda e: e.name)
        for entry in entries:
            path = Path(entry.path)
            info = entry.stat(follow_symlinks=False)
            name = f"{prefix}/{entry.name}"
            kind = stat.S_IFMT(info.st_mode)
            fields = [name, oct(info.st_mode), str(info.st_uid), str(info.st_gid)]
            if kind != stat.S_IFDIR and kind != stat.S_IFLNK:
                fields.append(str(int(info.st_mtime)))
            with contextlib.suppress(OSError):
                for attr in sorted(os.listxattr(path, follow_symlinks=False)):
                    value = os.getxattr(path, attr, follow_symlinks=False)
                    fields.append(f"{attr}={value.hex()}")
            if kind == stat.S_IFREG:
                fields.append(_file_digest(path))
            elif kind == stat.S_IFLNK:
                fields.append(os.readlink(path))
            elif kind in (stat.S_IFCHR, stat.S_IFBLK):
                fields.append(str(info.st_rdev))
            hasher.update("\0".join(fields).encode("utf-8", "surrogateescape") + b"\n")
            if kind == stat.S_IFDIR:
                visit(path, name)

    visit(top, "")
    return Digest.from_hasher(hasher)


def _file_digest(path: Path) -> str:
    with open(path, "rb") as source:
        return hashlib.file_digest(source, "sha256").hexdigest()


@dataclass(frozen=True)
class UnpackedLayer:
    short_id: str
    path: Path
    diff_id: Digest | None
    tree: Digest | None

    @property
    def diff(self) -> Path:
        return self.path / "diff"


class UnpackedLayers:
    def __init__(self, root: Path) -> None:
        self.dir = root / "layers"

    def _meta(self, short: str) -> dict[str, object]:
        try:
            value = json.loads((self.dir / short / "layer.json").read_bytes())
        except (FileNotFoundError, NotADirectoryError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def path(self, diff_id: Digest) -> Path | None:
        short = short_id(diff_id)
        meta = self._meta(short)
        if not meta:
            return None
        if meta.get("diff_id") != str(diff_id):
            raise StoreError(
                f"unpacked layer {short} belongs to {meta.get('diff_id')}, not {diff_id}",
                "run 'dockyard system check'",
            )
        return self.dir / short / "diff"

    def create(self, diff_id: Digest, tar: BinaryIO, unpack: LayerUnpacker) -> Path:
        """Unpack into a temp directory, record its tree digest, rename into place."""
        self.dir.mkdir(exist_ok=True)
        short = short_id(diff_id)
        tmp = self.dir / temp_name(f".tmp-{short}-")
        (tmp / "diff").mkdir(parents=True)
        try:
            unpack(tar, tmp / "diff")
            meta = {"diff_id": str(diff_id), "tree": str(tree_digest(tmp / "diff"))}
            (tmp / "layer.json").write_text(json.dumps(meta))
            try:
                os.rename(tmp, self.dir / short)
            except OSError:
                # Another process unpacked it first; keep theirs.
                if self.path(diff_id) is None:
                    raise
                self.remove_tree(tmp)
        except BaseException:
            self.remove_tree(tmp)
            raise
        return self.dir / short / "diff"

    def entries(self) -> list[UnpackedLayer]:
        if not self.dir.is_dir():
            return []
        found = []
        for entry in sorted(os.scandir(self.dir), key=lambda e: e.name):
            if is_temp_name(entry.name):
                continue
            meta = self._meta(entry.name)
            diff_id = meta.get("diff_id")
            tree = meta.get("tree")
            found.append(
                UnpackedLayer(
                    entry.name,
                    Path(entry.path),
                    Digest(diff_id)
                    if isinstance(diff_id, str) and Digest.is_valid(diff_id)
                    else None,
                    Digest(tree) if isinstance(tree, str) and Digest.is_valid(tree) else None,
                )
            )
        return found

    def leftovers(self) -> list[Path]:
        if not self.dir.is_dir():
            return []
        return [Path(e.path) for e in os.scandir(self.dir) if is_temp_name(e.name)]

    def remove(self, short: str) -> None:
        """Rename away first so the layer disappears atomically, then delete."""
        trash = self.dir / temp_name(f".trash-{short}-")
        try:
            os.rename(self.dir / short, trash)
        except FileNotFoundError:
            return
        self.remove_tree(trash)

    @staticmethod
    def remove_tree(path: Path) -> None:
        def make_writable(function: object, failed: str, _info: object) -> None:
            # Unpacked layers may hold read-only directories (and immutable-looking modes).
            parent = os.path.dirname(failed)
            with contextlib.suppress(OSError):
                os.chmod(parent, 0o700)
            with contextlib.suppress(OSError):
                if os.path.isdir(failed) and not os.path.islink(failed):
                    shutil.rmtree(failed, ignore_errors=True)
                else:
                    os.unlink(failed)

        if path.exists() or path.is_symlink():
            shutil.rmtree(path, onerror=make_writable)

    def size(self, short: str) -> int:
        total = 0
        for directory, _dirs, files in os.walk(self.dir / short):
            for name in files:
                with contextlib.suppress(OSError):
                    total += os.lstat(os.path.join(directory, name)).st_size
        return total
