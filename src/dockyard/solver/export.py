"""The image a build commits: layers, config and history exactly as BuildKit writes them.

The config is made in two steps: ``export_template`` takes from the stage plan all
that does not depend on how the steps were solved (plain JSON, which a build record
keeps), and ``config_from_template`` adds the results: the layers' diff_ids, which
steps changed nothing (``empty_layer``) and when each layer was made. A rebuild from a
build record (rebuild.py) commits through the same second step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dockyard.plan.config import HistoryEntry, go_json
from dockyard.solver.results import Snapshot

if TYPE_CHECKING:
    from dockyard.plan.stages import StagePlan
    from dockyard.store import Layer, Store, StoredImage


def export_template(plan: StagePlan) -> dict[str, Any]:
    """The parts of the config the plan alone decides.

    A history entry of a step that adds a layer names the step's vertex (``step``):
    whether the layer turned out empty and its time come from the step's result.
    """
    steps = iter(plan.layer_steps)
    history: list[dict[str, Any]] = []
    for entry in plan.history:
        if entry.raw is not None:
            history.append({"raw": dict(entry.raw)})
            continue
        item: dict[str, Any] = {
            "created_by": entry.created_by,
            "comment": entry.comment,
            "empty_layer": entry.empty_layer,
        }
        if not entry.empty_layer:
            vertex = next(steps, None)
            item["step"] = vertex.digest if vertex is not None else None
        history.append(item)
    base = plan.base
    return {
        "architecture": base.architecture if base else "amd64",
        "author": plan.author,
        "config": plan.config.to_dict(),
        "history": history,
        "os": base.os if base else "linux",
        "variant": base.variant if base else "",
    }


def history_with_times(
    template: Mapping[str, Any], results: Mapping[str, Any], epoch_created: str | None
) -> list[dict[str, Any]]:
    """History dicts with ``empty_layer`` for steps that changed nothing and BuildKit's times."""
    entries: list[dict[str, Any]] = []
    times: list[str | None] = []
    for entry in template["history"]:
        raw = entry.get("raw")
        if raw is not None:
            entries.append(dict(raw))
            times.append(raw.get("created"))
            continue
        created: str | None = epoch_created
        empty = entry["empty_layer"]
        if not empty:
            result = results.get(entry["step"]) if entry["step"] is not None else None
            if isinstance(result, Snapshot):
                empty = result.empty
                created = epoch_created or result.created or None
        item = HistoryEntry(entry["created_by"], empty, entry["comment"]).to_dict(None)
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


def config_from_template(
    template: Mapping[str, Any],
    results: Mapping[str, Any],
    diff_ids: Sequence[str],
    epoch_created: str | None,
) -> bytes:
    """The config blob, keys sorted at the top level like BuildKit's exporter.

    ``results`` maps the digests of the layer steps to their snapshots.
    """
    history = history_with_times(template, results, epoch_created)
    created = epoch_created
    if created is None:
        created = next((item["created"] for item in reversed(history) if "created" in item), None)
    top: dict[str, Any] = {"architecture": template["architecture"]}
    if template["author"]:
        top["author"] = template["author"]
    top["config"] = template["config"]
    if created:
        top["created"] = created
    top["history"] = history
    top["os"] = template["os"]
    top["rootfs"] = {"type": "layers", "diff_ids": list(diff_ids)}
    if template["variant"]:
        top["variant"] = template["variant"]
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
    template: Mapping[str, Any],
    snapshot: Snapshot,
    results: Mapping[str, Any],
    names: list[str],
    epoch_created: str | None,
) -> StoredImage:
    diff_ids = [layer.diff_id for layer in snapshot.layers]
    data = config_from_template(template, results, diff_ids, epoch_created)
    return store.commit_raw(data, store_layers(snapshot), names)
