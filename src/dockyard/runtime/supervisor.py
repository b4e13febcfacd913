"""The supervisor of one container: start it, serve its ports, log, reap, clean up.

A foreground ``dockyard run`` is its own supervisor. A detached one forks a small
supervisor process (double fork, new session) that outlives the command; it tells
the command through a pipe whether the container started, then waits for it.
Whoever supervises records the state in ``state.json`` so that ``ps`` in any later
invocation sees it; a supervisor that died is noticed there (see ``containers``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dockyard.errors import ContainerStartError, DockyardError, RuntimeError_
from dockyard.fs.passwd import resolve_exec_user
from dockyard.runtime import etcfiles, overlay, paths, volumes
from dockyard.runtime.console import (
    ConsoleSocket,
    copy_input,
    copy_master_output,
    copy_window_size,
)
from dockyard.runtime.executor import StdioPlumbing
from dockyard.runtime.leases import release_image
from dockyard.runtime.logs import LogWriter
from dockyard.runtime.ports import PortMapping, PortPublisher
from dockyard.runtime.records import (
    ContainerRecord,
    ContainerState,
    PortRecord,
    container_dir,
    now,
    save_record,
    save_state,
)
from dockyard.runtime.runc import ExitStatus, RuncContainer, process_identity
from dockyard.runtime.spec import MountSpec, ProcessSpec, Resources, SpecOptions, build_spec

INIT_BINARY = Path("/usr/bin/tini-static")
INIT_PATH = "/sbin/docker-init"


def runc_container(record: ContainerRecord, root: Path | None = None) -> RuncContainer:
    bundle = container_dir(record.id, root) / "bundle"
    return RuncContainer(record.id, bundle, paths.runc_state_root(root))


def remove_container_files(record: ContainerRecord, root: Path | None = None) -> None:
    """Everything of a stopped container: rootfs mount, directory, anonymous volumes."""
    directory = container_dir(record.id, root)
    if overlay.is_mountpoint(directory / "rootfs"):
        overlay.unmount(directory / "rootfs")
    shutil.rmtree(directory, ignore_errors=True)
    for mount in record.mounts:
        if mount.anonymous:
            volumes.remove_volume(mount.name, root)
    if record.image_id:
        release_image(record.id)


class Supervisor:
    def __init__(self, record: ContainerRecord, root: Path | None = None) -> None:
        self.record = record
        self.root = root
        self.directory = container_dir(record.id, root)
        self.container = runc_container(record, root)
        self.publisher: PortPublisher | None = None
        self.plumbing: StdioPlumbing | None = None
        self.log: LogWriter | None = None
        self.state = ContainerState()
        self.master: int | None = None
        self._terminal_output: threading.Thread | None = None
        self._stop_requested = False
        self._lock = threading.Lock()

    # -- starting -------------------------------------------------------------

    def _rootfs(self) -> Path:
        rootfs = self.directory / "rootfs"
        if not overlay.is_mountpoint(rootfs):
            overlay.mount_rootfs(
                [Path(lower) for lower in self.record.lowerdirs],
                self.directory / "upper",
                self.directory / "work",
                rootfs,
            )
        return rootfs

    def _mounts(self, rootfs: Path) -> list[MountSpec]:
        from dockyard.fs import resolve_in_root

        record, bundle = self.record, self.container.bundle
        (bundle / "hosts").write_text(etcfiles.hosts_file(record.hostname))
        (bundle / "resolv.conf").write_text(etcfiles.resolv_conf(record.network == "host"))
        (bundle / "hostname").write_text(record.hostname + "\n")
        mounts = [
            MountSpec.bind(bundle / "resolv.conf", "/etc/resolv.conf"),
            MountSpec.bind(bundle / "hostname", "/etc/hostname"),
            MountSpec.bind(bundle / "hosts", "/etc/hosts"),
        ]
        for mount in record.mounts:
            if mount.type == "tmpfs":
                mounts.append(MountSpec.tmpfs(mount.destination, ("rw", "size=65536k")))
                continue
            if mount.type == "volume":
                target = resolve_in_root(rootfs, mount.destination.lstrip("/"))
                volumes.copy_up(target, Path(mount.source))
            mounts.append(MountSpec.bind(mount.source, mount.destination, readonly=mount.readonly))
        if record.init:
            mounts.append(MountSpec.bind(INIT_BINARY, INIT_PATH, readonly=True))
        return mounts

    def _process(self, rootfs: Path) -> ProcessSpec:
        from dockyard.fs import resolve_in_root

        record = self.record
        user = resolve_exec_user(rootfs, record.user)
        env = list(record.env)
        if not any(item.startswith("HOME=") for item in env):
            env.append(f"HOME={user.home}")
        cwd = resolve_in_root(rootfs, record.cwd.lstrip("/"))
        if not cwd.exists():
            cwd.mkdir(parents=True, mode=0o755)
            os.chown(cwd, user.uid, user.gid)
        args = record.args
        if record.init:
            args = (INIT_PATH, "--", *args)
        return ProcessSpec(
            args=args,
            env=tuple(env),
            cwd=record.cwd,
            uid=user.uid,
            gid=user.gid,
            additional_gids=user.additional_gids,
            terminal=record.tty,
        )

    def _bind_ports(self) -> None:
        record = self.record
        if not record.ports or record.network != "private":
            return
        mappings = [
            PortMapping(p.host_ip, p.host_port, p.container_port, p.protocol) for p in record.ports
        ]
        self.publisher = PortPublisher(mappings)
        bound = tuple(
            PortRecord(m.host_ip, m.host_port, m.container_port, m.protocol)
            for m in self.publisher.bound()
        )
        if bound != record.ports:
            from dataclasses import replace

            self.record = replace(record, ports=bound)
            save_record(self.record, self.root)

    def start(
        self,
        *,
        stdin: int | None = None,
        stdout: Callable[[bytes], None] | None = None,
        stderr: Callable[[bytes], None] | None = None,
    ) -> None:
        """Start the container; raises (with everything undone) if it cannot run."""
        record = self.record
        try:
            self._bind_ports()
            rootfs = self._rootfs()
            process = self._process(rootfs)
            self.container.bundle.mkdir(parents=True, exist_ok=True)
            options = SpecOptions(
                rootfs=rootfs,
                mounts=tuple(self._mounts(rootfs)),
                network="host" if record.network == "host" else "private",
                hostname=record.hostname,
                readonly_rootfs=record.readonly_rootfs,
                resources=Resources(record.memory_bytes, record.cpus, record.pids_limit),
                cgroups_path=f"/dockyard/{record.id}",
            )
            owner = process_identity(os.getpid()) or str(os.getpid())
            self.container.write_bundle(build_spec(process, options), owner)
            self.log = LogWriter(self.directory / "log.json")
            self.plumbing = StdioPlumbing(
                None if record.tty else stdin,
                self.log.sink("stdout", stdout),
                self.log.sink("stderr", stderr),
            )
            console = ConsoleSocket() if record.tty else None
            try:
                pid = self.container.create(
                    stdin=self.plumbing.stdin,
                    stdout=self.plumbing.stdout,
                    stderr=self.plumbing.stderr,
                    console_socket=console.path if console else None,
                    start=True,
                )
                if console is not None:
                    self._attach_terminal(console.master(), stdin, self.log.sink("stdout", stdout))
            finally:
                if console is not None:
                    console.close()
            self.plumbing.started()
            if self.publisher is not None:
                # Connections that arrive first wait in the listen backlog.
                self.publisher.start(f"/proc/{pid}/ns/net")
        except BaseException as error:
            code = error.exit_code if isinstance(error, ContainerStartError) else 125
            message = error.message if isinstance(error, DockyardError) else str(error)
            self._finish(ExitStatus(code), error=message)
            raise
        self.state = ContainerState(
            status="running",
            pid=pid,
            supervisor=owner,
            started_at=now(),
        )
        save_state(self.directory, self.state)
        with self._lock:
            stop_now = self._stop_requested
            self._stop_requested = False  # asked before there was a process: ask now
        if stop_now:
            self.request_stop()

    def _attach_terminal(
        self, master: int, stdin: int | None, sink: Callable[[bytes], None]
    ) -> None:
        self.master = master
        if stdin is not None:
            if os.isatty(stdin):
                copy_window_size(stdin, master)
            copy_input(stdin, master)
        self._terminal_output = copy_master_output(master, sink)

    # -- running --------------------------------------------------------------

    def request_stop(self) -> None:
        """Send the stop signal, then SIGKILL after the stop timeout (at once when
        asked a second time: a second Ctrl-C)."""
        with self._lock:
            again = self._stop_requested
            self._stop_requested = True
        if self.container.pid is None:
            return
        if again:
            self.container.kill(signal.SIGKILL)
            return
        self.container.kill(self.record.stop_signal)
        timer = threading.Timer(self.record.stop_timeout, self.container.kill, (signal.SIGKILL,))
        timer.daemon = True
        timer.start()

    def wait(self) -> ExitStatus:
        try:
            status = self.container.wait()
        except BaseException:
            self.container.kill(signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                if self.container.pid:
                    os.waitpid(self.container.pid, 0)
            self._finish(ExitStatus(137, signal.SIGKILL))
            raise
        self._finish(status)
        return status

    def _finish(self, status: ExitStatus, error: str = "") -> None:
        if self.publisher is not None:
            self.publisher.close()
        if self.plumbing is not None:
            self.plumbing.close()
        if self._terminal_output is not None:
            self._terminal_output.join(5)
        if self.master is not None:
            os.close(self.master)
            self.master = None
        if self.log is not None:
            self.log.close()
        self.container.delete(remove_bundle=False)
        rootfs = self.directory / "rootfs"
        if overlay.is_mountpoint(rootfs):
            overlay.unmount(rootfs)
        if self.record.auto_remove:
            remove_container_files(self.record, self.root)
            return
        state = self.state.exited(status.exit_code, oom_killed=status.oom_killed, error=error)
        self.state = state
        save_state(self.directory, state)


def start_detached(record: ContainerRecord, root: Path | None = None) -> None:
    """Fork a supervisor that outlives this process; return once the container runs."""
    read_fd, write_fd = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked process
        os.close(read_fd)
        _become_supervisor(record, root, write_fd)
    os.close(write_fd)
    os.waitpid(child, 0)
    with os.fdopen(read_fd, "rb") as reader:
        data = reader.read()
    try:
        report: dict[str, Any] = json.loads(data or b"{}")
    except ValueError:
        report = {}
    if report.get("ok"):
        return
    message = str(report.get("error") or "the container supervisor failed to start")
    hint = report.get("hint")
    exit_code = int(report.get("exit_code", 125))
    if exit_code in (126, 127):
        raise ContainerStartError(message, hint, exit_code)
    raise RuntimeError_(message, hint)


def _become_supervisor(record: ContainerRecord, root: Path | None, report_fd: int) -> None:
    status = 1
    try:
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.close(devnull)
        supervisor = Supervisor(record, root)
        signal.signal(signal.SIGTERM, lambda *_: supervisor.request_stop())
        signal.signal(signal.SIGINT, lambda *_: supervisor.request_stop())
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        try:
            supervisor.start()
        except BaseException as error:
            report = {"error": str(error), "exit_code": 125}
            if isinstance(error, DockyardError):
                report = {"error": error.message, "hint": error.hint, "exit_code": error.exit_code}
                if isinstance(error, ContainerStartError):
                    report["exit_code"] = error.exit_code
            os.write(report_fd, json.dumps(report).encode())
            os.close(report_fd)
            os._exit(1)
        os.write(report_fd, b'{"ok": true}')
        os.close(report_fd)
        supervisor.wait()
        status = 0
    finally:
        os._exit(status)
