"""The scheduler: inputs first, each digest once, independent branches in parallel."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from dockyard.errors import BuildError
from dockyard.plan.graph import ExecOp, ScratchSource, Vertex
from dockyard.solver.scheduler import Scheduler

ROOT = Vertex(ScratchSource())


def step(parent: Vertex, name: str) -> Vertex:
    return Vertex(ExecOp((name,), (), "/", ""), (parent,), name=name)


def test_inputs_are_solved_before_users_and_each_vertex_once() -> None:
    calls: list[str] = []
    lock = threading.Lock()
    shared = step(ROOT, "shared")
    left = step(shared, "left")
    right = step(shared, "right")
    join = Vertex(ExecOp(("join",), (), "/", ""), (left, right), name="join")

    def solve(vertex: Vertex, inputs: Sequence[list[str]]) -> list[str]:
        with lock:
            calls.append(vertex.name or "root")
        merged = [name for item in inputs for name in item]
        return [*merged, vertex.name or "root"]

    result = Scheduler(solve, workers=4).run([join, left])
    assert sorted(calls) == sorted(["root", "shared", "left", "right", "join"])
    assert calls.index("shared") < calls.index("left") < calls.index("join")
    assert result[1] == ["root", "shared", "left"]


def test_independent_branches_run_at_the_same_time() -> None:
    branches = [step(ROOT, f"stage{index}") for index in range(4)]
    join = Vertex(ExecOp(("join",), (), "/", ""), tuple(branches))
    running = 0
    peak = 0
    lock = threading.Lock()

    def solve(vertex: Vertex, inputs: Sequence[int]) -> int:
        nonlocal running, peak
        if vertex.name.startswith("stage"):
            with lock:
                running += 1
                peak = max(peak, running)
            barrier.wait(timeout=10)
            with lock:
                running -= 1
        return 0

    barrier = threading.Barrier(4)
    Scheduler(solve, workers=4).run([join])
    assert peak == 4


def test_first_failure_stops_new_work_and_is_raised() -> None:
    first = step(ROOT, "fails")
    later = step(first, "never")
    slow = step(ROOT, "slow")
    join = Vertex(ExecOp(("join",), (), "/", ""), (later, slow))
    solved: list[str] = []
    cancelled = threading.Event()

    def solve(vertex: Vertex, inputs: Sequence[None]) -> None:
        if vertex.name == "fails":
            raise BuildError("step failed")
        if vertex.name == "slow":
            cancelled.wait(timeout=5)
        solved.append(vertex.name)

    scheduler: Scheduler[None] = Scheduler(solve, workers=4, on_cancel=cancelled.set)
    with pytest.raises(BuildError, match="step failed"):
        scheduler.run([join])
    assert "never" not in solved
    assert cancelled.is_set()


def test_serial_mode_gives_the_same_results() -> None:
    chain = ROOT
    for index in range(5):
        chain = step(chain, f"s{index}")

    def solve(vertex: Vertex, inputs: Sequence[int]) -> int:
        time.sleep(0)
        return (inputs[0] if inputs else 0) + 1

    assert Scheduler(solve, workers=1).run([chain]) == [6]
    assert Scheduler(solve, workers=3).run([chain]) == [6]


def test_tty_progress_redraws_one_line_per_step() -> None:
    import io

    from dockyard.solver.progress_tty import TtyProgress

    out = io.StringIO()
    progress = TtyProgress(out)
    progress.start("a", "[1/3] FROM busybox", kind="source")
    progress.done("a", "[1/3] FROM busybox")
    progress.cached("b", "[2/3] COPY a /a")
    progress.start("c", "[3/3] RUN make")
    progress.output("c", "[3/3] RUN make", b"compiling\n")
    progress.done("c", "[3/3] RUN make")
    progress.finish()
    frames = out.getvalue().split("\x1b[")
    last = frames[-1]
    assert "[+] Building" in last and "(3/3)" in last
    assert " => [1/3] FROM busybox" in last
    assert " => CACHED [2/3] COPY a /a" in last
    assert " => [3/3] RUN make" in last
    assert "compiling" in out.getvalue()
