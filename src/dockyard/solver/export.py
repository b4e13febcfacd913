"""The image a build commits: layers, config and history exactly as BuildKit writes them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dockyard.plan.config import HistoryEntry, go_json
from dockyard.plan.stages import StagePlan
from dockyard.solver.results import Snapshot

if TYPE_CHECKING:
    from dockyard.store import Layer, Store, StoredImage


def history_with_times(
    plan: StagePlan, results: Mapping[str, Any], epoch_created: str | None
) -> list[dict[str, Any]]:
    """History dicts with ``empty_layer`` for steps that changed nothing and BuildKit's times."""
    steps = iter(plan.layer_steps)
    entries: list[dict[str, Any]] = []
    times: list[str | None] = []
    for entry in plan.history:
        if entry.raw is not None:
            entries.append(dict(entry.raw))
            times.append(entry.raw.get("created"))
            continue
        created: str | None = epoch_created
        empty = entry.empty_layer
        if not entry.empty_layer:
            vertex = next(steps, None)
            result = results.get(vertex.digest) if vertex is not None else None
            if isinstance(result, Snapshot):
                empty = result.empty
                created = epoch_created or result.created or None
        item = HistoryEntry(entry.created_by, empty, entry.comment).to_dict(None)
        entries.append(item)
        times.append(created)
    _fill_times(times)
    out = []
    for item, created in zip(entries, times, strict=True):
        if "created" not in item and created:
            item = {"created": created, **item}
        out.append(item)
    return out


def _fill_times(times: list[str | None]) -> None:
    """BuildKit's normalizeLayersAndHistory: metadata entries take a layer's time."""
    created: str | None = None
    missing = False
    for value in times:
        if value is not None:
            created = value
            if missing:
                break
        else:
            missing = True
    missing = False
    for index, value in enumerate(times):
        if value is not None:
            if missing:
                created = value
        else:
            missing = True
            times[index] = created


def config_bytes(
    plan: StagePlan, snapshot: Snapshot, history: list[dict[str, Any]], created: str | None
) -> bytes:
    """The config blob, keys sorted at the top level like BuildKit's exporter."""
    base = plan.base
    top: dict[str, Any] = {"architecture": base.architecture if base else "amd64"}
    if plan.author:
        top["author"] = plan.author
    top["config"] = plan.config.to_dict()
    if created:
        top["created"] = created
    top["history"] = history
    top["os"] = base.os if base else "linux"
    top["rootfs"] = {"type": "layers", "diff_ids": [layer.diff_id for layer in snapshot.layers]}
    if base and base.variant:
        top["variant"] = base.variant
    return go_json(top).encode()


def store_layers(snapshot: Snapshot) -> list[Layer]:
    from dockyard.digest import Digest
    from dockyard.oci import Descriptor
    from dockyard.store import Layer

    return [
        Layer(Descriptor(layer.media_type, Digest(layer.digest), layer.size), Digest(layer.diff_id))
        for layer in snapshot.layers
    ]


def commit(
    store: Store,
    plan: StagePlan,
    snapshot: Snapshot,
    results: Mapping[str, Any],
    names: list[str],
    epoch_created: str | None,
) -> StoredImage:
    history = history_with_times(plan, results, epoch_created)
    created = epoch_created
    if created is None:
        created = next((item["created"] for item in reversed(history) if "created" in item), None)
    data = config_bytes(plan, snapshot, history, created)
    return store.commit_raw(data, store_layers(snapshot), names)
