"""Solving one vertex: cache lookup, else run the op and store its layer.

``VertexSolver.solve`` is what the scheduler calls for every vertex. Source vertices
turn into snapshots of stored images (or the context directory); exec and file
vertices compute their cache key from their canonical op and their inputs' keys
(for COPY from the context: the content hash of exactly the files it reads), reuse
a cached layer when one is recorded and still stored, and otherwise run on an
overlay of the parent snapshot and store the upper directory as the new layer.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.errors import BuildError
from dockyard.plan.cachekey import cache_key
from dockyard.plan.graph import (
    ContextSource,
    ExecOp,
    FileOp,
    ImageSource,
    MergeOp,
    ScratchSource,
    Vertex,
)
from dockyard.solver.cache import BuildCache, CachedLayer
from dockyard.solver.progress import Progress
from dockyard.solver.results import ContextDir, LayerRef, Result, Snapshot
from dockyard.solver.workarea import WorkArea, mounted

if TYPE_CHECKING:
    from dockyard.fs.entries import LayerEntry
    from dockyard.store import Layer, Store


def rfc3339(seconds: float) -> str:
    """Go's time.RFC3339Nano in UTC, as image configs carry it."""
    whole = int(seconds)
    nanos = round((seconds - whole) * 1e9)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    if nanos:
        stamp += "." + f"{nanos:09d}".rstrip("0")
    return stamp + "Z"


@dataclass
class SolveOptions:
    context_dir: Path | None
    no_cache: bool = False
    source_date_epoch: int | None = None
    secrets: dict[str, Path] = field(default_factory=dict)
    network: str = "default"
    dockerfile_path: Path | None = None


class VertexSolver:
    """Solves vertices against one store, cache and work area."""

    def __init__(
        self,
        store: Store,
        cache: BuildCache,
        area: WorkArea,
        progress: Progress,
        options: SolveOptions,
        images: dict[str, Any],
        cancel: threading.Event,
    ) -> None:
        self.store = store
        self.cache = cache
        self.area = area
        self.progress = progress
        self.options = options
        self.images = images  # manifest digest -> StoredImage
        self.cancel = cancel
        self.lock = threading.Lock()
        self.copy_plans: dict[str, Any] = {}
        # diff_id -> upper dir of a layer made by this build and not unpacked yet.
        self.uppers: dict[str, Path] = {}
        self._context: tuple[Any, Any] | None = None
        # The store's locks are per process, not per thread: every call into the store
        # that takes one (unpacking, recording a layer) goes through this lock.
        self.store_lock = threading.Lock()

    # -- dispatch --------------------------------------------------------------

    def solve(self, vertex: Vertex, inputs: Sequence[Result]) -> Result:
        if self.cancel.is_set():
            raise KeyboardInterrupt
        op = vertex.op
        if isinstance(op, ContextSource):
            if self.options.context_dir is None:
                raise BuildError("this build has no context", "pass a context directory")
            return ContextDir(vertex.digest, self.options.context_dir)
        if isinstance(op, ScratchSource):
            return Snapshot(vertex.digest, ())
        if isinstance(op, ImageSource):
            return self._image(vertex, op)
        if isinstance(op, MergeOp):
            parent, top = _snapshot(inputs[0]), _snapshot(inputs[1])
            key = cache_key(vertex, [parent.key, top.key])
            return Snapshot(key, parent.layers + top.layers[-1:], top.created, top.empty)
        return self._step(vertex, inputs)

    def _image(self, vertex: Vertex, op: ImageSource) -> Snapshot:
        image = self.images[op.manifest_digest]
        layers = tuple(
            LayerRef(
                str(layer.diff_id),
                str(layer.digest),
                layer.descriptor.size,
                layer.descriptor.media_type,
            )
            for layer in image.layers
        )
        if vertex.name:
            self.progress.start(vertex.digest, vertex.name, kind="source")
            self.progress.done(vertex.digest, vertex.name)
        return Snapshot(vertex.digest, layers)

    # -- the build context --------------------------------------------------------

    def context_tree(self) -> tuple[Any, Any]:
        """The context as copyops reads it (.dockerignore applied) and its hasher."""
        with self.lock:
            if self._context is None:
                from dockyard.solver.context import open_context

                if self.options.context_dir is None:
                    raise BuildError("this build has no context", "pass a context directory")
                self._context = open_context(
                    self.options.context_dir, self.options.dockerfile_path, self.store.root
                )
            return self._context

    @property
    def context_opened(self) -> bool:
        return self._context is not None

    def context_checksum(self) -> str:
        from dockyard.solver.context import context_checksum

        tree, hasher = self.context_tree()
        return str(context_checksum(tree, hasher))

    # -- steps that add a layer --------------------------------------------------

    def input_keys(self, vertex: Vertex, inputs: Sequence[Result]) -> list[str]:
        keys = []
        for index, result in enumerate(inputs):
            if isinstance(result, ContextDir):
                keys.append(self._context_key(vertex, index, result))
            else:
                keys.append(result.key)
        return keys

    def _context_key(self, vertex: Vertex, index: int, context: ContextDir) -> str:
        from dockyard.solver.file_op import context_key

        return context_key(self, vertex, index, context)

    def _step(self, vertex: Vertex, inputs: Sequence[Result]) -> Snapshot:
        return self.step(vertex, inputs, cache_key(vertex, self.input_keys(vertex, inputs)))

    def step(self, vertex: Vertex, inputs: Sequence[Result], key: str) -> Snapshot:
        """A step whose cache key is known: the cached result, else run it and cache it."""
        parent = _snapshot(inputs[0])
        name = vertex.name or vertex.op.kind
        if not self.options.no_cache:
            hit = self.lookup(key)
            if hit is not None:
                self.progress.cached(vertex.digest, name)
                return _extend(parent, key, hit, cached=True)
        self.progress.start(vertex.digest, name)
        try:
            layer = self._execute(vertex, parent, inputs)
        except BaseException as error:
            message = getattr(error, "message", None) or str(error) or type(error).__name__
            if isinstance(error, KeyboardInterrupt):
                message = "canceled"
            self.progress.done(vertex.digest, name, error=message)
            raise
        self.cache.put(key, layer)
        self.progress.done(vertex.digest, name)
        return _extend(parent, key, layer, cached=False)

    def lookup(self, key: str) -> CachedLayer | None:
        """The cached layer of ``key`` if its blob is still stored."""
        hit = self.cache.get(key)
        if hit is None:
            return None
        if hit.empty:
            return hit
        from dockyard.digest import Digest

        if not self.store.has_blob(Digest(hit.digest)):
            self.cache.forget(key)
            return None
        return hit

    def _execute(self, vertex: Vertex, parent: Snapshot, inputs: Sequence[Result]) -> CachedLayer:
        lowers = self.lowerdirs(parent)
        if isinstance(vertex.op, FileOp):
            from dockyard.solver.file_op import copy_directly

            direct = copy_directly(self, vertex, vertex.op, lowers, inputs)
            if direct is not None:
                return direct
        with mounted(self.area, lowers) as (merged, upper):
            assert upper is not None
            op = vertex.op
            if isinstance(op, ExecOp):
                from dockyard.solver.exec_op import run_exec

                cleanup = run_exec(self, vertex, op, merged, upper, inputs)
            elif isinstance(op, FileOp):
                from dockyard.solver.file_op import run_file

                cleanup = run_file(self, vertex, op, merged, inputs)
            else:
                raise BuildError(f"cannot run a {op.kind} vertex")
        cleanup()
        return self.commit_upper(upper)

    # -- layers ------------------------------------------------------------------

    def lowerdirs(self, snapshot: Snapshot) -> list[Path]:
        """The unpacked directories of a snapshot's layers, base first."""
        from dockyard.digest import Digest

        def unpack(stream: Any, target: Path) -> None:
            from dockyard.fs.unpack import unpack_layer  # rarely needed: most are unpacked

            unpack_layer(stream, target, mode="overlay")

        paths = []
        for layer in snapshot.layers:
            diff_id = Digest(layer.diff_id)
            with self.store_lock:
                upper = self.uppers.pop(layer.diff_id, None)
                if upper is not None and self.store.unpacked_path(diff_id) is None:
                    paths.append(self.store.ensure_unpacked(diff_id, _mover(upper)))
                else:
                    paths.append(self.store.ensure_unpacked(diff_id, unpack))
        return paths

    def commit_upper(self, upper: Path) -> CachedLayer:
        """Store an overlay upper dir as a layer (an empty one too: BuildKit keeps those)."""
        now = self._now()
        from dockyard.fs.layer import write_layer

        with self.store.layer_writer() as writer:
            blob = write_layer(
                upper,
                writer.stream,
                kind="overlay-upper",
                source_date_epoch=self.options.source_date_epoch,
            )
            with self.store_lock:
                layer: Layer = writer.commit(blob.diff_id)
        # The upper dir is the layer's unpacked form already (an overlay lowerdir): a
        # later step of this build that needs it adopts it instead of unpacking the
        # blob; a layer no step builds on (the last one, usually) is never unpacked.
        with self.store_lock:
            self.uppers.setdefault(str(layer.diff_id), upper)
        return CachedLayer(
            str(layer.diff_id),
            str(layer.digest),
            layer.descriptor.size,
            layer.descriptor.media_type,
            now,
        )

    def commit_entries(self, entries: list[LayerEntry]) -> CachedLayer:
        """Store a layer written from a list of entries (a COPY written directly)."""
        now = self._now()
        from dockyard.fs.entries import write_entries

        with self.store.layer_writer() as writer:
            blob = write_entries(
                entries, writer.stream, source_date_epoch=self.options.source_date_epoch
            )
            with self.store_lock:
                layer: Layer = writer.commit(blob.diff_id)
        return CachedLayer(
            str(layer.diff_id),
            str(layer.digest),
            layer.descriptor.size,
            layer.descriptor.media_type,
            now,
        )

    def _now(self) -> str:
        if self.options.source_date_epoch is not None:
            return rfc3339(self.options.source_date_epoch)
        return rfc3339(time.time())

    def on_output(self, vertex: Vertex) -> Callable[[bytes], None]:
        name = vertex.name or vertex.op.kind

        def write(chunk: bytes) -> None:
            self.progress.output(vertex.digest, name, chunk)

        return write


def _mover(upper: Path) -> Callable[[Any, Path], None]:
    """An "unpacker" that moves an upper dir's entries in instead of reading the blob."""

    def move(_stream: Any, target: Path) -> None:
        with os.scandir(upper) as entries:
            for entry in entries:
                os.rename(entry.path, target / entry.name)

    return move


def _snapshot(result: Result) -> Snapshot:
    if not isinstance(result, Snapshot):
        raise BuildError("a filesystem step needs a filesystem parent, not the build context")
    return result


def _extend(parent: Snapshot, key: str, layer: CachedLayer, *, cached: bool) -> Snapshot:
    if layer.empty:
        return Snapshot(key, parent.layers, layer.created, empty=True, cached=cached)
    ref = LayerRef(layer.diff_id, layer.digest, layer.size, layer.media_type, layer.created)
    return Snapshot(key, (*parent.layers, ref), layer.created, cached=cached)
