"""Run a build graph: topological order, a thread pool, each digest solved once.

The scheduler knows nothing about what a vertex does: it calls ``solve(vertex,
input_results)`` for every vertex the targets need, as soon as all inputs of that
vertex are solved, on up to ``workers`` threads. Independent branches (the stages
of a multistage build) therefore run at the same time. The first failure stops new
work from starting; vertices already running finish (the caller's cancel event tells
them to hurry), then the failure is raised.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar

from dockyard.plan.graph import Vertex, topological

if TYPE_CHECKING:
    from concurrent.futures import Future

Result = TypeVar("Result")


class Scheduler(Generic[Result]):
    """Solves vertices through a callback, inputs first, in parallel."""

    def __init__(
        self,
        solve: Callable[[Vertex, Sequence[Result]], Result],
        *,
        workers: int = 4,
        cancel: threading.Event | None = None,
        on_cancel: Callable[[], None] | None = None,
    ) -> None:
        self._solve = solve
        self._on_cancel = on_cancel
        self._workers = max(1, workers)
        self.cancel = cancel or threading.Event()
        self.results: dict[str, Result] = {}

    def run(self, targets: Sequence[Vertex]) -> list[Result]:
        """Solve every target (and what it needs); results in the order of ``targets``."""
        order = [
            vertex for vertex in topological(list(targets)) if vertex.digest not in self.results
        ]
        waiting = {vertex.digest: {item.digest for item in vertex.inputs} for vertex in order}
        for digest in waiting:
            waiting[digest] -= set(self.results)
        users: dict[str, list[Vertex]] = {}
        for vertex in order:
            for digest in {item.digest for item in vertex.inputs}:
                users.setdefault(digest, []).append(vertex)
        if self._workers == 1 or _is_chain(order):
            self._run_serial(order)
        else:
            self._run_parallel(order, waiting, users)
        return [self.results[target.digest] for target in targets]

    def _inputs(self, vertex: Vertex) -> list[Result]:
        return [self.results[item.digest] for item in vertex.inputs]

    def _run_serial(self, order: list[Vertex]) -> None:
        for vertex in order:
            if self.cancel.is_set():
                raise KeyboardInterrupt
            self.results[vertex.digest] = self._solve(vertex, self._inputs(vertex))

    def _run_parallel(
        self,
        order: list[Vertex],
        waiting: dict[str, set[str]],
        users: dict[str, list[Vertex]],
    ) -> None:
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        ready = [vertex for vertex in order if not waiting[vertex.digest]]
        running: dict[Future[Result], Vertex] = {}
        failure: BaseException | None = None
        pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="solve")
        try:
            while ready or running:
                while ready and failure is None and not self.cancel.is_set():
                    vertex = ready.pop(0)
                    future = pool.submit(self._solve, vertex, self._inputs(vertex))
                    running[future] = vertex
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    vertex = running.pop(future)
                    error = future.exception()
                    if error is not None:
                        if failure is None:
                            failure = error
                            self.cancel.set()
                            if self._on_cancel is not None and running:
                                self._on_cancel()
                        continue
                    self.results[vertex.digest] = future.result()
                    for user in users.get(vertex.digest, ()):
                        pending = waiting[user.digest]
                        pending.discard(vertex.digest)
                        if not pending and user.digest not in self.results:
                            ready.append(user)
        except BaseException:
            self.cancel.set()
            if self._on_cancel is not None:
                self._on_cancel()
            # Let running vertices notice the cancel and clean up before we return.
            wait(running)
            raise
        finally:
            pool.shutdown(wait=True)
        if failure is not None:
            raise failure
        if self.cancel.is_set():
            raise KeyboardInterrupt


def _is_chain(order: list[Vertex]) -> bool:
    """True when no two vertices that do work could run at the same time.

    Vertices without inputs (images, scratch, the context) cost nothing to solve; if
    every other vertex depends on the one before it, a thread pool would only add
    overhead (the usual single-stage Dockerfile).
    """
    working = [vertex for vertex in order if vertex.inputs]
    for previous, vertex in itertools.pairwise(working):
        if previous.digest not in {item.digest for item in vertex.walk()}:
            return False
    return True
