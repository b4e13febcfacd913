"""The image a build commits: layers, config and history exactly as BuildKit writes them.

The config is made in two steps: ``export_template`` takes from the stage plan all
that does not depend on how the steps were solved (plain JSON, which a build record
keeps), and ``config_from_template`` adds the results: the layers' diff_ids, which
steps changed nothing (``empty_layer``) and when each layer was made. A rebuild from a
build record (rebuild.py) commits through the same second step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from dockyard.digest import Digest
from dockyard.oci.config import ContainerConfig, History, ImageConfig, RootFS
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
    for index, entry in enumerate(plan.history):
        if index < plan.base_history:
            history.append({"raw": entry.to_dict()})
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
) -> list[History]:
    """The history with ``empty_layer`` for steps that changed nothing and BuildKit's times."""
    entries: list[History] = []
    times: list[str | None] = []
    for entry in template["history"]:
        raw = entry.get("raw")
        if raw is not None:
            base_entry = History.from_dict(raw)
            entries.append(base_entry)
            times.append(base_entry.created or None)
            continue
        created: str | None = epoch_created
        empty = entry["empty_layer"]
        if not empty:
            result = results.get(entry["step"]) if entry["step"] is not None else None
            if isinstance(result, Snapshot):
                empty = result.empty
                created = epoch_created or result.created or None
        entries.append(
            History(created_by=entry["created_by"], comment=entry["comment"], empty_layer=empty)
        )
        times.append(created)
    _fill_times(times)
    return [
        replace(entry, created=created) if not entry.created and created else entry
        for entry, created in zip(entries, times, strict=True)
    ]


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
    """The config blob, written by ``oci.ImageConfig`` as BuildKit's exporter writes it.

    ``results`` maps the digests of the layer steps to their snapshots.
    """
    history = history_with_times(template, results, epoch_created)
    created = epoch_created
    if created is None:
        created = next((entry.created for entry in reversed(history) if entry.created), None)
    image = ImageConfig(
        architecture=template["architecture"],
        os=template["os"],
        config=ContainerConfig.from_dict(template["config"]),
        rootfs=RootFS(tuple(Digest(diff_id) for diff_id in diff_ids)),
        history=tuple(history),
        created=created or "",
        author=template["author"],
        variant=template["variant"],
    )
    return image.to_json()


def store_layers(snapshot: Snapshot) -> list[Layer]:
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
