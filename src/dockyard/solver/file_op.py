"""The file op: COPY/ADD (through copyops' ``fileops``) and WORKDIR's mkdir.

A COPY is prepared once per vertex (``prepare_copy``): that resolves the sources
and yields the content checksum of exactly the files it reads, which is the cache
key input for the build context. Only on a cache miss is the plan applied, into the
merged overlay of the parent snapshot.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import BuildError
from dockyard.plan.cachekey import content_key
from dockyard.plan.graph import CopyAction, FileOp, MkdirAction, Vertex
from dockyard.solver.results import ContextDir, Result, Snapshot
from dockyard.solver.workarea import mounted

if TYPE_CHECKING:
    from dockyard.solver.cache import CachedLayer
    from dockyard.solver.fileops.plan import CopyPlan, CopySpec
    from dockyard.solver.fileops.virtual import VirtualTarget
    from dockyard.solver.solve import VertexSolver


def _spec(action: CopyAction) -> CopySpec:
    from dockyard.solver.fileops.plan import CopySpec, InlineFile

    return CopySpec(
        sources=action.sources,
        dest=action.dest,
        workdir=action.workdir or "/",
        contents=tuple(InlineFile(name, data.encode()) for name, data in action.contents),
        add=action.is_add,
        chown=action.chown or None,
        chmod=action.chmod or None,
        excludes=action.excludes,
        parents=action.parents,
        checksum=action.checksum or None,
        unpack=action.unpack,
    )


def _prepare(solver: VertexSolver, vertex: Vertex, root: Path | None) -> CopyPlan:
    """The copy plan of a vertex; from the context when ``root`` is None."""
    from dockyard.solver.fileops.plan import is_url, prepare_copy
    from dockyard.solver.fileops.tree import SourceTree

    assert isinstance(vertex.op, FileOp) and isinstance(vertex.op.action, CopyAction)
    spec = _spec(vertex.op.action)
    fetch_dir = solver.area.new_dir("fetch") if any(map(is_url, spec.sources)) else None
    if root is None:
        tree, hasher = solver.context_tree()
        return prepare_copy(spec, tree, hasher=hasher, fetch_dir=fetch_dir)
    return prepare_copy(spec, SourceTree.live(root), fetch_dir=fetch_dir)


def context_key(solver: VertexSolver, vertex: Vertex, index: int, context: ContextDir) -> str:
    """The cache-key input of the context for this vertex: what it reads, hashed."""
    op = vertex.op
    if isinstance(op, FileOp) and isinstance(op.action, CopyAction):
        plan = _prepare(solver, vertex, None)
        with solver.lock:
            solver.copy_plans[vertex.digest] = plan
        return content_key("copy", plan.checksum)
    # A RUN --mount=type=bind of the context: the whole (filtered) context.
    return content_key("context", solver.context_checksum())


def copy_directly(
    solver: VertexSolver,
    vertex: Vertex,
    op: FileOp,
    lowers: Sequence[Path],
    inputs: Sequence[Result],
) -> CachedLayer | None:
    """A COPY written straight into its layer, or None: use an overlay.

    The copy runs against a :class:`VirtualTarget` over a read-only mount of the
    parent; the layer tar then reads the data from the sources themselves (the
    context's files, or a read-only mount of the ``--from`` stage or image).
    """
    if not isinstance(op.action, CopyAction):
        return None
    source = inputs[1]
    from dockyard.solver.fileops.virtual import NotDirect, VirtualTarget

    with contextlib.ExitStack() as stack:
        if isinstance(source, ContextDir):
            with solver.lock:
                plan = solver.copy_plans.pop(vertex.digest, None)
            if plan is None:
                plan = _prepare(solver, vertex, None)
        else:
            source_mount = mounted(solver.area, solver.lowerdirs(source), writable=False)
            source_root, _ = stack.enter_context(source_mount)
            plan = _prepare(solver, vertex, source_root)
        if any(action.unpack or action.url for action in plan.actions):
            _keep(solver, vertex, plan, source)
            return None
        root, _ = stack.enter_context(mounted(solver.area, lowers, writable=False))
        target = VirtualTarget(str(root), time.time_ns())
        try:
            _apply(plan, root, target)
            entries = target.entries()
        except NotDirect:
            _keep(solver, vertex, plan, source)
            return None
        return solver.commit_entries(entries)


def _keep(solver: VertexSolver, vertex: Vertex, plan: CopyPlan, source: Result) -> None:
    """Leave a context plan for :func:`run_file` (a ``--from`` plan is made again there)."""
    if isinstance(source, ContextDir):
        with solver.lock:
            solver.copy_plans[vertex.digest] = plan


def run_file(
    solver: VertexSolver, vertex: Vertex, op: FileOp, merged: Path, inputs: Sequence[Result]
) -> Callable[[], None]:
    action = op.action
    if isinstance(action, MkdirAction):
        _mkdir(merged, action)
        return _nothing
    source = inputs[1]
    if isinstance(source, ContextDir):
        with solver.lock:
            plan = solver.copy_plans.pop(vertex.digest, None)
        if plan is None:
            plan = _prepare(solver, vertex, None)
        _apply(plan, merged)
        return _nothing
    if not isinstance(source, Snapshot):
        raise BuildError("COPY --from needs a stage or an image")
    with mounted(solver.area, solver.lowerdirs(source), writable=False) as (root, _):
        plan = _prepare(solver, vertex, root)
        _apply(plan, merged)
    return _nothing


def _apply(plan: CopyPlan, merged: Path, target: VirtualTarget | None = None) -> None:
    from dockyard.solver.fileops.copy import apply_copy

    apply_copy(plan, merged, target=target)


def _mkdir(merged: Path, action: MkdirAction) -> None:
    from dockyard.fs.passwd import resolve_exec_user
    from dockyard.fs.safepath import resolve_in_root

    owner = resolve_exec_user(merged, action.user) if action.user else None
    target = resolve_in_root(merged, action.path)
    missing: list[Path] = []
    probe = target
    while not probe.exists() and probe != merged:
        missing.append(probe)
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise BuildError(f"cannot create directory {action.path}: a file is in the way")
    for path in reversed(missing):
        path.mkdir(mode=action.mode)
        os.chmod(path, action.mode)
        if owner is not None:
            os.lchown(path, owner.uid, owner.gid)


def _nothing() -> None:
    return None
