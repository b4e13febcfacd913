"""Store maintenance: ``check``, garbage collection, image pruning, disk usage."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.digest import Digest
from dockyard.errors import StoreError
from dockyard.oci import ImageConfig, Index
from dockyard.store.files import is_temp_name
from dockyard.store.layers import short_id, tree_digest
from dockyard.store.reports import CheckReport, DiskUsage, GcReport
from dockyard.store.validate import DiffIdCache, blob_matches, image_problems, layer_diff_id

if TYPE_CHECKING:
    from dockyard.store.store import Store


def _root_leftovers(store: Store) -> list[Path]:
    found: list[Path] = []
    for directory in (store.root, store.diff_ids.dir, store.lease_store.dir):
        if directory.is_dir():
            found += [Path(e.path) for e in os.scandir(directory) if is_temp_name(e.name)]
    return found


def leftovers(store: Store) -> list[Path]:
    """What killed commands leave behind: ingest files, temp and trash directories."""
    return store.blobs.ingest_leftovers() + store.unpacked.leftovers() + _root_leftovers(store)


def _check_layout(store: Store, problems: list[str]) -> None:
    try:
        layout = json.loads((store.root / "oci-layout").read_bytes())
        if layout.get("imageLayoutVersion") != "1.0.0":
            problems.append("oci-layout: imageLayoutVersion is not 1.0.0")
    except (OSError, ValueError, AttributeError) as error:
        problems.append(f"oci-layout is missing or invalid: {error}")
    try:
        Index.from_json(store.index_path.read_bytes(), "index.json")
    except (OSError, StoreError) as error:
        problems.append(f"index.json is missing or invalid: {error}")


def check(store: Store, progress: Callable[[str], None] | None = None) -> CheckReport:
    """Re-hash every blob, validate every image, re-digest every unpacked layer."""
    say = progress or (lambda _message: None)
    problems: list[str] = []
    warnings: list[str] = []
    _check_layout(store, problems)
    cache = DiffIdCache()
    blobs = list(store.blobs.digests())
    say(f"checking {len(blobs)} blobs")
    for digest in blobs:
        from dockyard.oci import Descriptor

        problem = blob_matches(store, Descriptor("", digest, store.blobs.size(digest)), cache)
        if problem:
            problems.append(problem)
    problems += [f"stray file in blobs/sha256: {path.name}" for path in store.blobs.stray_files()]
    images = 0
    try:
        entries = store.entries()
    except StoreError:
        entries = []
    seen = set()
    for entry in entries:
        if entry.digest in seen:
            continue
        seen.add(entry.digest)
        images += 1
        try:
            image = store.image(f"sha256:{entry.digest.hex}")
        except StoreError as error:
            problems.append(f"image {entry.name or entry.digest}: {error}")
            continue
        problems += [
            f"image {image.display_name()}: {p}" for p in image_problems(store, image, cache)
        ]
    say("checking layer records")
    for diff_id in store.diff_ids.all():
        for layer in store.diff_ids.lookup(diff_id):
            problem = blob_matches(store, layer.descriptor, cache)
            if problem:
                problems.append(f"diff_id record {diff_id.short}: {problem}")
                continue
            actual = layer_diff_id(store, layer.descriptor, cache)
            if actual != diff_id:
                problems.append(
                    f"diff_id record {diff_id.short}: blob {layer.digest} holds {actual}"
                )
    layers = store.unpacked.entries()
    say(f"checking {len(layers)} unpacked layers")
    for unpacked in layers:
        if unpacked.diff_id is None or unpacked.tree is None:
            problems.append(f"unpacked layer {unpacked.short_id}: layer.json missing or invalid")
        elif short_id(unpacked.diff_id) != unpacked.short_id:
            problems.append(f"unpacked layer {unpacked.short_id} is named for another diff_id")
        elif not unpacked.diff.is_dir():
            problems.append(f"unpacked layer {unpacked.short_id}: diff/ is missing")
        elif tree_digest(unpacked.diff) != unpacked.tree:
            problems.append(f"unpacked layer {unpacked.short_id} was modified since unpacking")
    known_ids = {
        store._manifest(e.digest)[1].config.digest for e in entries if store.has_blob(e.digest)
    }
    for name, lease in store.leases().items():
        warnings += [
            f"lease {name} holds image {d.short}, which is not in the store"
            for d in lease.images
            if d not in known_ids
        ]
    return CheckReport(
        tuple(problems), tuple(warnings), tuple(leftovers(store)), len(blobs), images, len(layers)
    )


def _reachable(store: Store) -> tuple[set[Digest], set[Digest]]:
    """Blobs and diff_ids that index.json and the leases keep."""
    blobs: set[Digest] = set()
    diff_ids: set[Digest] = set()
    manifests = {entry.digest for entry in store.entries()}
    leases = store.leases().values()
    for lease in leases:
        blobs.update(lease.blobs)
        diff_ids.update(lease.diff_ids)
    for digest in manifests:
        if not store.has_blob(digest):
            continue
        _, manifest = store._manifest(digest)
        blobs.add(digest)
        blobs.add(manifest.config.digest)
        blobs.update(layer.digest for layer in manifest.layers)
        with contextlib.suppress(StoreError, OSError):
            config = ImageConfig.from_json(store.blobs.read(manifest.config.digest))
            diff_ids.update(config.rootfs.diff_ids)
    for diff_id in list(diff_ids):
        blobs.update(layer.digest for layer in store.diff_ids.lookup(diff_id))
    return blobs, diff_ids


def gc(store: Store, blocking: bool = True) -> GcReport:
    """Delete blobs and unpacked layers nothing reaches, and every leftover."""
    with store.collecting(blocking) as exclusive:
        if not exclusive:
            return GcReport(skipped=True)
        with store.locked():
            keep_blobs, keep_diff_ids = _reachable(store)
            doomed = {d for d in store.blobs.digests() if d not in keep_blobs}
            reclaimed = sum(store.blobs.size(d) for d in doomed)
            store.diff_ids.forget_blobs(doomed)  # records first: never point at a deleted blob
            for digest in doomed:
                store.blobs.delete(digest)
            keep_short = {short_id(d) for d in keep_diff_ids}
            removed_layers = []
            for unpacked in store.unpacked.entries():
                if unpacked.short_id not in keep_short:
                    reclaimed += store.unpacked.size(unpacked.short_id)
                    store.unpacked.remove(unpacked.short_id)
                    removed_layers.append(unpacked.short_id)
            stale = leftovers(store)
            for path in stale:
                if path.is_dir() and not path.is_symlink():
                    store.unpacked.remove_tree(path)
                else:
                    path.unlink(missing_ok=True)
    return GcReport(tuple(sorted(doomed)), tuple(removed_layers), len(stale), reclaimed)


def prune_images(store: Store, all_unused: bool = False) -> list[Digest]:
    """Delete dangling images (``all_unused``: every image no lease holds)."""
    held = {digest for lease in store.leases().values() for digest in lease.images}
    removed: list[Digest] = []
    by_id: dict[Digest, list[bool]] = {}
    for entry in store.entries():
        image_id = store._manifest(entry.digest)[1].config.digest
        by_id.setdefault(image_id, []).append(entry.name is not None)
    for image_id, named in by_id.items():
        if image_id in held or (any(named) and not all_unused):
            continue
        store.delete_manifests(store.manifests_of_id(image_id))
        removed.append(image_id)
    return removed


def disk_usage(store: Store) -> DiskUsage:
    images = store.images()
    blob_sizes = {d: store.blobs.size(d) for d in store.blobs.digests()}
    keep, _ = _reachable(store)
    unpacked = store.unpacked.entries()
    return DiskUsage(
        images=len({image.id for image in images}),
        images_size=sum(image.size for image in {image.id: image for image in images}.values()),
        blobs=len(blob_sizes),
        blobs_size=sum(blob_sizes.values()),
        unpacked_layers=len(unpacked),
        unpacked_size=sum(store.unpacked.size(u.short_id) for u in unpacked),
        reclaimable_blobs_size=sum(s for d, s in blob_sizes.items() if d not in keep),
        leases=len(store.leases()),
    )
