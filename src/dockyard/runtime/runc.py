"""One runc container from ``create`` to ``delete``.

The process that creates a container becomes a child subreaper, so when ``runc
create`` exits the container's init is re-parented to it and ``waitpid`` gives the
exact exit status (containerd's shim does the same). Creating first and starting
second leaves a window to enter the container's network namespace before its
process runs (published ports) and keeps runc's own error messages apart from the
container's output.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.errors import ContainerStartError, RuntimeError_

_PR_SET_CHILD_SUBREAPER = 36
_subreaper = False


def runc_binary() -> str:
    found = os.environ.get("DOCKYARD_RUNC") or shutil.which("runc")
    if not found:
        raise RuntimeError_("runc is not installed", "install it: apt-get install runc")
    return found


def become_subreaper() -> None:
    """Adopt orphaned descendants (the container's init once ``runc create`` exits)."""
    global _subreaper
    if _subreaper:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise RuntimeError_(f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}")
    _subreaper = True


def process_identity(pid: int) -> str | None:
    """``pid:starttime`` of a live process, or None: a recycled pid does not match."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return f"{pid}:{fields[19]}"


def owner_alive(identity: str) -> bool:
    pid, _, _ = identity.partition(":")
    return pid.isdigit() and process_identity(int(pid)) == identity


@dataclass(frozen=True)
class ExitStatus:
    """How a container's init ended: Docker's exit code (128+N for signal N)."""

    exit_code: int
    signal: int | None = None
    oom_killed: bool = False


_START_ERROR = re.compile(r'exec: "(?P<path>[^"]*)": (?P<reason>.*)$')


def start_error(message: str) -> ContainerStartError | None:
    """Translate runc's exec failure into Docker's message and exit code (127/126)."""
    match = _START_ERROR.search(message)
    if match is None:
        return None
    reason = match["reason"]
    text = f'exec: "{match["path"]}": {reason}'
    if "not found" in reason or "no such file" in reason:
        return ContainerStartError(text, "check the command and the image's PATH", 127)
    return ContainerStartError(text, "the command must be an executable file", 126)


class RuncContainer:
    """A container in runc's state directory, with its bundle directory."""

    def __init__(self, container_id: str, bundle: Path, state_root: Path) -> None:
        self.id = container_id
        self.bundle = bundle
        self.state_root = state_root
        self.pid: int | None = None
        self.cgroups_path: str | None = None

    def _command(self, *args: str) -> list[str]:
        return self.command_with_log(self.bundle / "runc.log", *args)

    def command_with_log(self, log: Path, *args: str) -> list[str]:
        """A runc command line for this container's state root, logging JSON to ``log``."""
        root = ["--root", str(self.state_root)]
        return [runc_binary(), *root, "--log", str(log), "--log-format", "json", *args]

    def last_error(self) -> str:
        return self.error_in(self.bundle / "runc.log")

    @staticmethod
    def error_in(log: Path) -> str:
        """The last error runc logged in ``log`` ("" if none)."""
        try:
            lines = log.read_text().splitlines()
        except OSError:
            return ""
        for line in reversed(lines):
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if entry.get("level") in ("error", "fatal"):
                    return str(entry.get("msg", ""))
        return ""

    def write_bundle(self, config: dict[str, Any], owner: str) -> None:
        self.bundle.mkdir(parents=True, exist_ok=True)
        (self.bundle / "owner").write_text(owner)
        (self.bundle / "config.json").write_text(json.dumps(config))
        self.cgroups_path = config.get("linux", {}).get("cgroupsPath")

    def create(
        self,
        *,
        stdin: int,
        stdout: int,
        stderr: int,
        console_socket: str | None = None,
        start: bool = False,
    ) -> int:
        """Create the container and return its pid. Its process waits for ``start()``,
        or runs at once with ``start=True`` (``runc run --detach``: one runc less)."""
        become_subreaper()
        self.state_root.mkdir(parents=True, exist_ok=True)
        pid_file = self.bundle / "pid"
        verb = ["run", "--detach"] if start else ["create"]
        args = [*verb, "--bundle", str(self.bundle), "--pid-file", str(pid_file)]
        if console_socket:
            args += ["--console-socket", console_socket]
        result = subprocess.run(
            [*self._command(*args), self.id],
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            check=False,
        )
        if result.returncode != 0:
            message = self.last_error() or f"runc create exited with {result.returncode}"
            message = message.removeprefix(f"runc {verb[0]} failed: ")
            message = message.removeprefix("unable to start container process: ")
            raise start_error(message) or RuntimeError_(f"cannot create the container: {message}")
        self.pid = int(pid_file.read_text().strip())
        return self.pid

    def start(self) -> None:
        result = subprocess.run(self._command("start", self.id), capture_output=True, check=False)
        if result.returncode != 0:
            message = self.last_error() or result.stderr.decode(errors="replace").strip()
            raise RuntimeError_(f"cannot start the container: {message}")

    def kill(self, signum: int = signal.SIGKILL, *, all_processes: bool = False) -> bool:
        """Signal the container's init (or every process); False if it is gone."""
        args = ["kill", *(["--all"] if all_processes else []), self.id, str(int(signum))]
        result = subprocess.run(self._command(*args), capture_output=True, check=False)
        return result.returncode == 0

    def wait(self) -> ExitStatus:
        """Reap the container's init (it is our child once ``runc create`` exited)."""
        assert self.pid is not None, "wait() before create()"
        while True:
            try:
                _, status = os.waitpid(self.pid, 0)
                break
            except ChildProcessError:
                # Not adopted (another process created it): poll until it is gone.
                return self._wait_foreign()
        oom = self.oom_killed()
        if os.WIFSIGNALED(status):
            signum = os.WTERMSIG(status)
            return ExitStatus(128 + signum, signum, oom)
        return ExitStatus(os.WEXITSTATUS(status), None, oom)

    def _wait_foreign(self) -> ExitStatus:
        import time

        assert self.pid is not None
        while process_identity(self.pid) is not None:
            time.sleep(0.05)
        return ExitStatus(137, signal.SIGKILL, self.oom_killed())

    def oom_killed(self) -> bool:
        if not self.cgroups_path:
            return False
        control = Path("/sys/fs/cgroup/memory") / self.cgroups_path.lstrip("/")
        try:
            text = (control / "memory.oom_control").read_text()
        except OSError:
            return False
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip() not in ("", "0"):
                return True
        return False

    def delete(self, *, remove_bundle: bool = True) -> None:
        """Forget the container in runc (killing what is left) and drop the bundle."""
        subprocess.run(
            self._command("delete", "--force", self.id),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        if remove_bundle:
            shutil.rmtree(self.bundle, ignore_errors=True)


def list_containers(state_root: Path) -> list[dict[str, Any]]:
    """``runc list`` as JSON: id, pid, status, bundle of each known container."""
    if not state_root.is_dir():
        return []
    result = subprocess.run(
        [runc_binary(), "--root", str(state_root), "list", "--format", "json"],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.strip():
        return []
    entries: list[dict[str, Any]] = json.loads(result.stdout) or []
    return entries
