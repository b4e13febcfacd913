"""Ctrl-C and kill -9 in the middle of a RUN: nothing is left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import BuildEnv

pytestmark = [pytest.mark.root]


def _start_build(env: BuildEnv, context: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dockyard", "build", "--progress", "plain", *extra, str(context)],
        env=env.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_container(env: BuildEnv, timeout: float = 60) -> None:
    """Until a build container is running (its runc state exists)."""
    state = env.root / "runc" / "state"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if state.is_dir() and any(state.iterdir()):
            time.sleep(0.3)
            return
        time.sleep(0.05)
    raise AssertionError("the RUN step never started")


def _runc_containers(env: BuildEnv) -> list[str]:
    done = subprocess.run(
        ["runc", "--root", str(env.root / "runc" / "state"), "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    return [item["id"] for item in json.loads(done.stdout or "null") or []]


def _mounts_below(root: Path) -> list[str]:
    text = Path("/proc/self/mountinfo").read_text()
    return [line.split()[4] for line in text.splitlines() if str(root) in line.split()[4]]


def _leftovers(env: BuildEnv) -> list[str]:
    builds = env.root / "builds"
    return [entry.name for entry in builds.iterdir()] if builds.is_dir() else []


def test_ctrl_c_stops_the_container_and_cleans_up(
    build_env: BuildEnv, make_context: Callable[..., Path]
) -> None:
    context = make_context(f"FROM {build_env.base}\nRUN echo started && sleep 60\n")
    process = _start_build(build_env, context)
    _wait_for_container(build_env)
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert time.monotonic() - started < 20
    assert "Traceback" not in stderr
    assert _runc_containers(build_env) == []
    assert _mounts_below(build_env.root) == []
    assert _leftovers(build_env) == []


@pytest.mark.slow
def test_kill_9_mid_run_then_check_clean_and_rebuild(
    build_env: BuildEnv, make_context: Callable[..., Path]
) -> None:
    context = make_context(f"FROM {build_env.base}\nRUN echo started && sleep 4 && echo x > /x\n")
    process = _start_build(build_env, context, "-t", "crash:test")
    _wait_for_container(build_env)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    check = build_env.dockyard("system", "check", check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    rebuilt = build_env.build(context, "-t", "crash:test")
    assert "DONE" in rebuilt.stderr
    assert _runc_containers(build_env) == []
    assert _mounts_below(build_env.root) == []
    assert _leftovers(build_env) == []
    assert not any((build_env.root / "runc" / "bundles").iterdir())


@pytest.mark.slow
def test_kill_9_mid_run_is_cleaned_by_any_next_command(
    build_env: BuildEnv, make_context: Callable[..., Path]
) -> None:
    context = make_context(f"FROM {build_env.base}\nRUN echo started && sleep 30\n")
    process = _start_build(build_env, context)
    _wait_for_container(build_env)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    assert _runc_containers(build_env) != [] or _mounts_below(build_env.root) != []
    listed = build_env.dockyard("images", check=False)
    assert listed.returncode == 0, listed.stderr
    assert _runc_containers(build_env) == []
    assert _mounts_below(build_env.root) == []
    assert _leftovers(build_env) == []
