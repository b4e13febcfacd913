"""Detached containers: ps, logs, exec, stop/kill signals, rm, a dying supervisor."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from dockyard.runtime import paths

from .helpers import store_image
from .test_run_cli import assert_clean, dockyard

pytestmark = pytest.mark.root


def wait_for(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def state_of(name: str) -> dict[str, object]:
    state: dict[str, object] = json.loads(dockyard("container", "inspect", name).stdout)[0]["State"]
    return state


def process_gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2] == "Z"


def test_detached_lifecycle(busybox: str, root: Path) -> None:
    script = "echo started; echo to-stderr >&2; exec sleep 300"
    result = dockyard("run", "-d", "--name", "web", busybox, "sh", "-c", script)
    assert result.returncode == 0, result.stderr
    container_id = result.stdout.strip()
    assert len(container_id) == 64

    listing = dockyard("ps").stdout
    assert "web" in listing and "Up " in listing and container_id[:12] in listing
    assert dockyard("ps", "-q").stdout.split() == [container_id[:12]]
    assert dockyard("rmi", busybox).returncode != 0  # the container holds its image
    assert list(leases(root)) == [f"container/{container_id}"]

    wait_for(lambda: "started" in dockyard("logs", "web").stdout)
    logs = dockyard("logs", "web")
    assert (logs.stdout, logs.stderr) == ("started\n", "to-stderr\n")

    executed = dockyard("exec", "-e", "EXTRA=1", "web", "sh", "-c", 'echo "in $HOSTNAME $EXTRA"')
    assert executed.stdout == f"in {container_id[:12]} 1\n"
    assert dockyard("exec", "web", "sh", "-c", "exit 9").returncode == 9
    missing = dockyard("exec", "web", "nosuch")
    assert missing.returncode == 127
    assert 'exec: "nosuch": executable file not found in $PATH' in missing.stderr
    assert "runc" not in missing.stderr

    assert dockyard("run", "-d", "--name", "web", busybox, "true").returncode != 0  # name taken
    assert "already in use" in dockyard("run", "--name", "web", busybox, "true").stderr

    refused = dockyard("rm", "web")
    assert refused.returncode == 1 and "running" in refused.stderr

    # sleep as pid 1 ignores SIGTERM: SIGKILL follows after the timeout.
    started = time.monotonic()
    assert dockyard("stop", "-t", "1", "web").returncode == 0
    assert time.monotonic() - started < 15
    assert dockyard("wait", "web").stdout == "137\n"
    assert "Exited (137)" in dockyard("ps", "-a").stdout
    assert dockyard("ps", "-q").stdout == ""
    assert dockyard("rm", "web").returncode == 0
    assert dockyard("ps", "-aq").stdout == ""
    assert list(leases(root)) == []
    assert_clean(root)


def leases(root: Path) -> dict[str, object]:
    from dockyard.store import Store

    with Store.open(root) as store:
        return dict(store.leases())


def test_stop_signal_from_image_is_honoured(rootfs: Path, root: Path) -> None:
    store_image(root, "usr1", rootfs, env=("PATH=/bin",), stop_signal="SIGUSR1")
    script = 'trap "echo caught; exit 5" USR1; echo ready; while :; do sleep 0.1; done'
    container_id = dockyard("run", "-d", "usr1", "sh", "-c", script).stdout.strip()
    wait_for(lambda: "ready" in dockyard("logs", container_id).stdout)
    assert dockyard("stop", "-t", "30", container_id).returncode == 0
    assert state_of(container_id)["ExitCode"] == 5
    assert dockyard("logs", container_id).stdout == "ready\ncaught\n"
    assert dockyard("rm", container_id).returncode == 0


def test_kill_with_signal(busybox: str, root: Path) -> None:
    script = 'trap "echo hup; exit 3" HUP; echo ready; while :; do sleep 0.1; done'
    dockyard("run", "-d", "--name", "k", busybox, "sh", "-c", script)
    wait_for(lambda: "ready" in dockyard("logs", "k").stdout)
    assert dockyard("kill", "-s", "HUP", "k").returncode == 0
    assert dockyard("wait", "k").stdout == "3\n"
    assert dockyard("kill", "k").returncode == 1  # not running any more
    assert dockyard("rm", "-f", "k").returncode == 0


def test_rm_force_and_auto_remove(busybox: str, root: Path) -> None:
    dockyard("run", "-d", "--rm", "--name", "gone", busybox, "sleep", "300")
    assert dockyard("rm", "-f", "gone").returncode == 0
    wait_for(lambda: dockyard("ps", "-aq").stdout == "")
    assert_clean(root)


def test_logs_follow_and_tail(busybox: str, root: Path) -> None:
    script = "for i in 1 2 3 4 5; do echo line$i; sleep 0.2; done"
    dockyard("run", "-d", "--name", "talker", busybox, "sh", "-c", script)
    followed = dockyard("logs", "-f", "talker")
    assert followed.stdout.split() == [f"line{i}" for i in range(1, 6)]
    assert dockyard("logs", "--tail", "2", "talker").stdout.split() == ["line4", "line5"]
    assert dockyard("rm", "talker").returncode == 0


def test_ps_after_the_supervisor_was_killed(busybox: str, root: Path) -> None:
    dockyard("run", "-d", "--name", "orphan", busybox, "sleep", "300")
    directory = paths.containers_dir(root)
    (record_dir,) = [d for d in directory.iterdir() if d.is_dir()]
    state = json.loads((record_dir / "state.json").read_text())
    supervisor_pid = int(state["supervisor"].split(":")[0])
    container_pid = int(state["pid"])
    os.kill(supervisor_pid, signal.SIGKILL)
    wait_for(lambda: process_gone(supervisor_pid))

    listing = dockyard("ps", "-a").stdout
    assert "orphan" in listing and "Exited (137)" in listing
    assert "supervisor died" in str(state_of("orphan")["Error"])
    wait_for(lambda: process_gone(container_pid))
    assert dockyard("rm", "orphan").returncode == 0
    assert_clean(root)


def test_container_prune(busybox: str, root: Path) -> None:
    dockyard("run", "--name", "done1", busybox, "true")
    dockyard("run", "-d", "--name", "alive", busybox, "sleep", "300")
    pruned = dockyard("container", "prune", "-f")
    assert pruned.returncode == 0
    names = dockyard("ps", "-a").stdout
    assert "done1" not in names and "alive" in names
    assert dockyard("rm", "-f", "alive").returncode == 0
