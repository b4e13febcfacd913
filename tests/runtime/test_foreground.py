"""Foreground runs: signals forwarded, a real terminal with -it, --init as pid 1."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .test_run_cli import assert_clean, dockyard

pytestmark = pytest.mark.root


def _read_until(fd: int, marker: bytes, timeout: float = 20.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"{marker!r} not seen in {seen!r}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def _start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "dockyard", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def test_sigterm_forwards_the_stop_signal(busybox: str, root: Path) -> None:
    script = 'trap "echo terminated; exit 4" TERM; echo ready; while :; do sleep 0.1; done'
    child = _start("run", "--rm", busybox, "sh", "-c", script)
    assert child.stdout is not None
    assert child.stdout.readline() == b"ready\n"
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=30) == 4
    assert child.stdout.read() == b"terminated\n"
    assert_clean(root)


def test_sigkill_after_the_stop_timeout(busybox: str, root: Path) -> None:
    child = _start(
        "run", "--rm", "--stop-timeout", "1", busybox, "sh", "-c", "echo ready; exec sleep 300"
    )
    assert child.stdout is not None
    assert child.stdout.readline() == b"ready\n"
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=30) == 137
    assert_clean(root)


def test_second_interrupt_kills_at_once(busybox: str, root: Path) -> None:
    child = _start(
        "run", "--rm", "--stop-timeout", "600", busybox, "sh", "-c", "echo ready; exec sleep 300"
    )
    assert child.stdout is not None
    assert child.stdout.readline() == b"ready\n"
    child.send_signal(signal.SIGINT)
    time.sleep(1)  # two separate presses, not one coalesced pending signal
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=60) == 137
    assert_clean(root)


def test_interactive_terminal(busybox: str, root: Path) -> None:
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child becomes dockyard on the pty
        os.execv(
            sys.executable, [sys.executable, "-m", "dockyard", "run", "-it", "--rm", busybox, "sh"]
        )
    try:
        _read_until(fd, b"# ")
        os.write(fd, b"tty; echo $TERM; stty size\n")
        output = _read_until(fd, b"# ")
        assert b"/dev/pts/0" in output
        assert b"xterm" in output
        os.write(fd, b"exit 3\n")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 3
    finally:
        os.close(fd)
    assert_clean(root)


def test_exec_with_a_terminal(busybox: str, root: Path) -> None:
    assert dockyard("run", "-d", "--name", "box", busybox, "sleep", "300").returncode == 0
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child becomes dockyard on the pty
        os.execv(sys.executable, [sys.executable, "-m", "dockyard", "exec", "-it", "box", "sh"])
    try:
        _read_until(fd, b"# ")
        os.write(fd, b"tty; exit 6\n")
        assert b"/dev/pts/" in _read_until(fd, b"/dev/pts/")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 6
    finally:
        os.close(fd)
    assert dockyard("rm", "-f", "box").returncode == 0


def test_init_is_pid_one(busybox: str, root: Path) -> None:
    result = dockyard(
        "run", "--rm", "--init", busybox, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '"
    )
    assert result.stdout.startswith("/sbin/docker-init -- sh -c")
    # An orphan that exits becomes a zombie unless pid 1 reaps it; `sleep` as the
    # main process never does, the init does.
    script = "sh -c 'sleep 0.1 & exec true'; exec sleep 300"
    for init, zombies in ((["--init"], "0"), ([], "1")):
        name = f"zombies{len(init)}"
        assert (
            dockyard("run", "-d", *init, "--name", name, busybox, "sh", "-c", script).returncode
            == 0
        )
        time.sleep(1)
        counted = dockyard("exec", name, "sh", "-c", "ps -o stat | grep -c '^Z' || true")
        assert counted.stdout.strip() == zombies
        assert dockyard("rm", "-f", name).returncode == 0
