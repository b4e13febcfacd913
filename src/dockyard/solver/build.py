"""One build, end to end: resolve base images, plan, solve in parallel, commit the image."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.errors import ImageNotFoundError
from dockyard.solver.progress import Progress
from dockyard.solver.results import Snapshot

if TYPE_CHECKING:
    from dockyard.plan.stages import BaseImage, BuildPlan
    from dockyard.solver.solve import VertexSolver
    from dockyard.store import Store, StoredImage


@dataclass(frozen=True)
class BuildRequest:
    """Everything ``dockyard build`` was asked for."""

    dockerfile: bytes
    context_dir: Path | None
    dockerfile_path: Path | None = None
    dockerfile_name: str = "Dockerfile"
    tags: tuple[str, ...] = ()
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    no_cache: bool = False
    pull: bool = False
    network: str = "default"
    secrets: Mapping[str, Path] = field(default_factory=dict)
    source_date_epoch: int | None = None
    store_root: Path | None = None
    workers: int = 4


@dataclass(frozen=True)
class BuildResult:
    image_id: str
    manifest_digest: str
    names: tuple[str, ...]
    cached_steps: int
    total_steps: int


class ImageResolver:
    """FROM names -> base images in the store (pulled when the registry can)."""

    def __init__(self, store: Store, progress: Progress) -> None:
        self.store = store
        self.progress = progress
        self.images: dict[str, StoredImage] = {}
        self.bases: dict[str, str] = {}  # normalised name -> manifest digest
        self._resolved: dict[str, BaseImage] = {}

    def __call__(self, name: str) -> BaseImage:
        found = self._resolved.get(name)
        if found is not None:
            return found
        from dockyard.oci import ImageReference
        from dockyard.plan.stages import BaseImage

        reference = ImageReference.parse_tagged(name)
        try:
            image = self.store.image(str(reference))
        except ImageNotFoundError:
            raise ImageNotFoundError(
                f"base image {reference.familiar()} is not in the store",
                f"add it with 'dockyard load', 'dockyard import' or 'dockyard bootstrap "
                f"{reference.familiar()}' (or 'dockyard pull' where a registry is reachable)",
            ) from None
        self.images[str(image.manifest_digest)] = image
        self.bases[str(reference)] = str(image.manifest_digest)
        config = image.config
        base = BaseImage(
            ref=str(reference),
            manifest_digest=str(image.manifest_digest),
            diff_ids=tuple(str(layer.diff_id) for layer in image.layers),
            config=config.config,
            history=config.history,
            architecture=config.architecture or "amd64",
            os=config.os or "linux",
            variant=config.variant,
            author=config.author,
        )
        self._resolved[name] = base
        return base


def run_build(request: BuildRequest, progress: Progress) -> BuildResult:
    from dockyard.solver.workarea import cleanup_stale
    from dockyard.store import Store

    with Store.open(request.store_root) as store:
        cleanup_stale(store.root)
        if request.context_dir is not None and not (request.no_cache or request.pull):
            from dockyard.solver.rebuild import rebuild

            rebuilt = rebuild(store, request, progress)
            if rebuilt is not None:
                return rebuilt
        return _build(store, request, progress)


def _build(store: Store, request: BuildRequest, progress: Progress) -> BuildResult:
    """The build from the Dockerfile: plan, solve, commit, record."""
    from dockyard.plan.convert import plan_build
    from dockyard.plan.stages import BuildOptions
    from dockyard.solver.cache import BuildCache
    from dockyard.solver.export import export_template
    from dockyard.solver.scheduler import Scheduler
    from dockyard.solver.solve import SolveOptions, VertexSolver
    from dockyard.solver.workarea import WorkArea

    resolver = ImageResolver(store, progress)
    options = BuildOptions(
        build_args=dict(request.build_args),
        target=request.target,
        labels=dict(request.labels),
        network=request.network,
        source_date_epoch=request.source_date_epoch,
        dockerfile_name=request.dockerfile_name,
    )
    plan = plan_build(request.dockerfile, options, resolver)
    cache = BuildCache(store.root / "buildcache.db")
    area = WorkArea(store.root)
    cancel = threading.Event()
    solver = VertexSolver(
        store,
        cache,
        area,
        progress,
        SolveOptions(
            context_dir=request.context_dir,
            no_cache=request.no_cache,
            source_date_epoch=request.source_date_epoch,
            secrets=dict(request.secrets),
            network=request.network,
            dockerfile_path=request.dockerfile_path,
        ),
        resolver.images,
        cancel,
    )
    scheduler: Scheduler[Any] = Scheduler(
        solver.solve,
        workers=request.workers,
        cancel=cancel,
        on_cancel=lambda: _kill_own_containers(store.root),
    )
    try:
        (result,) = scheduler.run([plan.target.vertex])
        assert isinstance(result, Snapshot)
        if solver.context_opened:
            solver.context_tree()[1].save()
        template = export_template(plan.target)
        image = export_image(store, progress, template, result, scheduler.results, request)
        _write_fast_record(
            request,
            store.root,
            plan,
            solver,
            resolver,
            image,
            progress,
            template,
            scheduler.results,
        )
    finally:
        area.close()
        cache.close()
    steps = [v for v in scheduler.results.values() if isinstance(v, Snapshot)]
    return BuildResult(
        image_id=str(image.id),
        manifest_digest=str(image.manifest_digest),
        names=tuple(request.tags),
        cached_steps=sum(1 for item in steps if item.cached),
        total_steps=len(steps),
    )


def _kill_own_containers(root: Path) -> None:
    from dockyard.solver.exec_op import kill_own_containers

    kill_own_containers(root)


def fast_key(request: BuildRequest) -> str:
    from dockyard.solver.fastpath import request_key

    return request_key(
        dockerfile=request.dockerfile,
        dockerfile_path=str(request.dockerfile_path) if request.dockerfile_path else None,
        context_dir=str(request.context_dir) if request.context_dir else None,
        build_args=request.build_args,
        target=request.target,
        labels=request.labels,
        network=request.network,
        tags=request.tags,
        source_date_epoch=request.source_date_epoch,
        secrets=request.secrets.keys(),
    )


def _reads_urls(plan: BuildPlan) -> bool:
    from dockyard.plan.graph import CopyAction, FileOp, topological

    for vertex in topological([plan.target.vertex]):
        op = vertex.op
        if (
            isinstance(op, FileOp)
            and isinstance(op.action, CopyAction)
            and any(source.startswith(("http://", "https://")) for source in op.action.sources)
        ):
            return True
    return False


def _write_fast_record(
    request: BuildRequest,
    root: Path,
    plan: BuildPlan,
    solver: VertexSolver,
    resolver: ImageResolver,
    image: StoredImage,
    progress: Progress,
    template: Mapping[str, Any],
    results: Mapping[str, Any],
) -> None:
    """Remember this build so that a rebuild can skip the planner, or the whole engine."""
    from dockyard.oci import ImageReference
    from dockyard.solver.rebuild import chain_of

    if _reads_urls(plan):
        return
    write_record(
        request,
        root,
        solver,
        image,
        progress,
        bases=resolver.bases,
        names=[str(ImageReference.parse_tagged(tag)) for tag in request.tags],
        chain=chain_of(plan.target.vertex, results, template),
    )


def write_record(
    request: BuildRequest,
    root: Path,
    solver: VertexSolver,
    image: StoredImage,
    progress: Progress,
    *,
    bases: Mapping[str, str],
    names: list[str],
    chain: Mapping[str, Any] | None,
) -> None:
    """The build record (fastpath.py) of a build that gave ``image``."""
    from dockyard.solver import fastpath

    entries: list[tuple[str, os.stat_result]] = []
    if solver.context_opened:
        tree, _ = solver.context_tree()
        entries = list(tree.walk(""))
    extra = []
    if request.context_dir is not None:
        extra.append(str(request.context_dir / ".dockerignore"))
    if request.dockerfile_path is not None:
        path = request.dockerfile_path
        extra.append(str(path.parent / (path.name + ".dockerignore")))
    fastpath.write(
        str(root),
        fast_key(request),
        context_dir=str(request.context_dir) if request.context_dir else None,
        context_entries=entries,
        extra_files=extra,
        bases=bases,
        names=names,
        tags=list(request.tags),
        manifest=str(image.manifest_digest),
        image_id=str(image.id),
        blobs=[str(image.manifest_digest), str(image.id), *(str(x.digest) for x in image.layers)],
        steps=progress.steps,
        chain=chain,
    )


def export_image(
    store: Store,
    progress: Progress,
    template: Mapping[str, Any],
    snapshot: Snapshot,
    results: Mapping[str, Any],
    request: BuildRequest,
) -> StoredImage:
    """Commit the image of a solved target, with BuildKit's "exporting to image" lines."""
    from dockyard.solver.export import commit
    from dockyard.solver.solve import rfc3339

    key = "export"
    progress.start(key, "exporting to image")
    epoch = request.source_date_epoch
    image = commit(
        store,
        template,
        snapshot,
        results,
        list(request.tags),
        rfc3339(epoch) if epoch is not None else None,
    )
    progress.note(key, "exporting to image", f"writing image {image.id} done")
    for name in request.tags:
        progress.note(key, "exporting to image", f"naming to {name} done")
    progress.done(key, "exporting to image")
    return image


def default_workers() -> int:
    return max(2, min(8, (os.cpu_count() or 2) * 2))
