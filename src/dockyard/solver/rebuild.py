"""A rebuild after edits in the build context, without parsing or planning the Dockerfile.

When the target of a build is one chain of steps on a base image (a single-stage
Dockerfile, or the last stage of one that copies nothing from other stages) whose
only reads of the context are COPY/ADD steps, its build record (fastpath.py) keeps
the *chain*: every step's vertex in canonical form, its cache key and its result,
and the export template of the image config (export.py).

A later build of the same request whose record is valid but for the context (files
edited, added or removed) is answered from the chain: the vertices are rebuilt from
their canonical forms (and checked against their recorded digests), each COPY re-hashes
what it reads (the stat cache makes unchanged files free) and the cache keys are
recomputed down the chain. Steps whose key did not change are CACHED with their
recorded results; the others go through the ordinary ``VertexSolver.step``, so a COPY
runs exactly as in a full build. If any step other than a COPY from the context would
have to run (a RUN below an edited COPY), nothing has been printed or stored yet and
the full build takes over.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dockyard.errors import DockyardError
from dockyard.plan.cachekey import cache_key
from dockyard.plan.graph import (
    ContextSource,
    CopyAction,
    ExecOp,
    FileOp,
    ImageSource,
    ScratchSource,
    Vertex,
    op_from_canonical,
    topological,
)
from dockyard.solver.results import ContextDir, LayerRef, Result, Snapshot

if TYPE_CHECKING:
    from dockyard.solver.build import BuildRequest, BuildResult
    from dockyard.solver.progress import Progress
    from dockyard.solver.solve import VertexSolver
    from dockyard.store import Store

CHAIN_VERSION = 1

# What phase one decides for each step of the chain.
RECORDED = "recorded"  # same cache key as in the record: its recorded result
SOLVE = "solve"  # a new key: cached under it, or a COPY from the context to run


def chain_of(
    target: Vertex, results: Mapping[str, Any], template: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The chain of a solved target, for the build record; None if it is not one."""
    steps: list[Vertex] = []
    context: Vertex | None = None
    vertex = target
    while vertex.inputs:
        if not isinstance(vertex.op, ExecOp | FileOp):
            return None
        if len(vertex.inputs) == 2:
            source = vertex.inputs[1]
            reads_context = isinstance(vertex.op, FileOp) and isinstance(
                vertex.op.action, CopyAction
            )
            if not (reads_context and isinstance(source.op, ContextSource)):
                return None
            context = source
        elif len(vertex.inputs) != 1:
            return None
        steps.append(vertex)
        vertex = vertex.inputs[0]
    base = vertex
    if not steps or not isinstance(base.op, ImageSource | ScratchSource):
        return None
    if len(topological([target])) != len(steps) + 1 + (context is not None):
        return None
    steps.reverse()
    base_result = results[base.digest]
    out_steps = []
    for step in steps:
        result = results[step.digest]
        assert isinstance(result, Snapshot)
        layer = None if result.empty else _layer_fields(result.layers[-1])
        out_steps.append(
            {
                "digest": step.digest,
                "name": step.name,
                "op": step.op.canonical(),
                "context": len(step.inputs) == 2,
                "key": result.key,
                "layer": layer,
                "created": result.created,
            }
        )
    return {
        "version": CHAIN_VERSION,
        "base": {
            "digest": base.digest,
            "name": base.name,
            "op": base.op.canonical(),
            "layers": [_layer_fields(layer) for layer in base_result.layers],
        },
        "context": None
        if context is None
        else {"name": context.name, "op": context.op.canonical()},
        "steps": out_steps,
        "template": dict(template),
    }


def _layer_fields(layer: LayerRef) -> list[Any]:
    return [layer.diff_id, layer.digest, layer.size, layer.media_type, layer.created]


def _restore(chain: Mapping[str, Any]) -> tuple[Vertex, Vertex | None, list[Vertex]] | None:
    """The vertices of a recorded chain, or None if any digest differs from its record."""
    base_record = chain["base"]
    base = Vertex(op_from_canonical(base_record["op"]), name=base_record["name"])
    if base.digest != base_record["digest"]:
        return None
    context = None
    if chain["context"] is not None:
        context = Vertex(op_from_canonical(chain["context"]["op"]), name=chain["context"]["name"])
    vertices = []
    parent = base
    for step in chain["steps"]:
        if step["context"] and context is None:
            return None
        inputs = (parent, context) if step["context"] and context else (parent,)
        vertex = Vertex(op_from_canonical(step["op"]), inputs, name=step["name"])
        if vertex.digest != step["digest"]:
            return None
        vertices.append(vertex)
        parent = vertex
    return base, context, vertices


def rebuild(store: Store, request: BuildRequest, progress: Progress) -> BuildResult | None:
    """The build answered from the chain of its record; None when the full build must run."""
    from dockyard.solver import fastpath
    from dockyard.solver.build import fast_key

    root = str(store.root)
    record = fastpath.load(root, fast_key(request))
    if record is None or not record.get("chain") or not fastpath.store_unchanged(root, record):
        return None
    chain = record["chain"]
    if chain.get("version") != CHAIN_VERSION or request.context_dir is None:
        return None
    restored = _restore(chain)
    if restored is None:
        return None
    base, context_vertex, vertices = restored
    solver = _solver(store, request, progress)
    try:
        context = ContextDir(context_vertex.digest if context_vertex else "", request.context_dir)
        try:
            decided = _decide(solver, chain["steps"], vertices, base.digest, context)
        except DockyardError:
            return None  # a COPY that cannot be prepared: the full build reports it
        if decided is None:
            return None
        return _solve_and_commit(solver, request, record, chain, base, vertices, decided, context)
    finally:
        solver.area.close()
        solver.cache.close()


def _solver(store: Store, request: BuildRequest, progress: Progress) -> VertexSolver:
    from dockyard.solver.cache import BuildCache
    from dockyard.solver.solve import SolveOptions, VertexSolver
    from dockyard.solver.workarea import WorkArea

    options = SolveOptions(
        context_dir=request.context_dir,
        source_date_epoch=request.source_date_epoch,
        secrets=dict(request.secrets),
        network=request.network,
        dockerfile_path=request.dockerfile_path,
    )
    cache = BuildCache(store.root / "buildcache.db")
    area = WorkArea(store.root)
    return VertexSolver(store, cache, area, progress, options, {}, threading.Event())


def _decide(
    solver: VertexSolver,
    steps: Sequence[Mapping[str, Any]],
    vertices: Sequence[Vertex],
    base_key: str,
    context: ContextDir,
) -> list[tuple[str, str]] | None:
    """Phase one, which prints and stores nothing: (decision, cache key) for every step.

    None if a step other than a COPY from the context would have to run.
    """
    decided = []
    parent_key = base_key
    for step, vertex in zip(steps, vertices, strict=True):
        # Only the parent's key matters for the key: a stand-in snapshot carries it.
        inputs: list[Result] = [Snapshot(parent_key, ())]
        if step["context"]:
            inputs.append(context)
        key = cache_key(vertex, solver.input_keys(vertex, inputs))
        if key == step["key"]:
            decided.append((RECORDED, key))
        elif solver.lookup(key) is not None or step["context"]:
            decided.append((SOLVE, key))
        else:
            return None
        parent_key = key
    return decided


def _solve_and_commit(
    solver: VertexSolver,
    request: BuildRequest,
    record: Mapping[str, Any],
    chain: Mapping[str, Any],
    base: Vertex,
    vertices: Sequence[Vertex],
    decided: Sequence[tuple[str, str]],
    context: ContextDir,
) -> BuildResult:
    """Phase two: the progress of a full build, the steps that changed, the image."""
    from dockyard.solver.build import BuildResult, export_image, write_record

    progress = solver.progress
    parent = Snapshot(base.digest, tuple(_layer_ref(fields) for fields in chain["base"]["layers"]))
    if isinstance(base.op, ImageSource) and base.name:
        progress.start(base.digest, base.name, kind="source")
        progress.done(base.digest, base.name)
    results: dict[str, Any] = {base.digest: parent}
    for step, vertex, (decision, key) in zip(chain["steps"], vertices, decided, strict=True):
        if decision == RECORDED:
            progress.cached(vertex.digest, vertex.name or vertex.op.kind)
            snapshot = _recorded(parent, key, step)
        else:
            inputs: list[Result] = [parent, context] if step["context"] else [parent]
            snapshot = solver.step(vertex, inputs, key)
        results[vertex.digest] = snapshot
        parent = snapshot
    if solver.context_opened:
        solver.context_tree()[1].save()
    image = export_image(solver.store, progress, chain["template"], parent, results, request)
    write_record(
        request,
        solver.store.root,
        solver,
        image,
        progress,
        bases=record["bases"],
        names=record["names"],
        chain=chain_of(vertices[-1], results, chain["template"]),
    )
    snapshots = [item for item in results.values() if isinstance(item, Snapshot)]
    return BuildResult(
        image_id=str(image.id),
        manifest_digest=str(image.manifest_digest),
        names=tuple(request.tags),
        cached_steps=sum(1 for item in snapshots if item.cached),
        total_steps=len(snapshots),
    )


def _layer_ref(fields: Sequence[Any]) -> LayerRef:
    diff_id, digest, size, media_type, created = fields
    return LayerRef(diff_id, digest, size, media_type, created)


def _recorded(parent: Snapshot, key: str, step: Mapping[str, Any]) -> Snapshot:
    if step["layer"] is None:
        return Snapshot(key, parent.layers, step["created"], empty=True, cached=True)
    return Snapshot(key, (*parent.layers, _layer_ref(step["layer"])), step["created"], cached=True)
