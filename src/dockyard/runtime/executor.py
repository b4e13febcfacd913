"""The executor: run one process in a container over a prepared root file system.

This is what a Dockerfile ``RUN`` step needs (BuildKit's ``runcexecutor``):
:func:`run_process` writes a bundle, runs the process under runc with live output,
and always removes the runc state and the bundle again, also when interrupted.
:func:`cleanup_stale` removes what a killed dockyard (``kill -9``) left behind.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from dockyard.runtime import etcfiles, paths
from dockyard.runtime.runc import (
    ExitStatus,
    RuncContainer,
    list_containers,
    owner_alive,
    process_identity,
)
from dockyard.runtime.spec import (
    MountSpec,
    Network,
    ProcessSpec,
    Resources,
    SpecOptions,
    build_spec,
)

# Where output goes: a callback that receives chunks as they arrive, a file
# descriptor the container writes to directly, or None to discard it.
OutputSink = Callable[[bytes], None] | int | None

BUILD_HOSTNAME = "buildkitsandbox"


def new_container_id() -> str:
    return "dy" + secrets.token_hex(12)


class _Pump:
    """Copies a pipe to a callback in a thread until every writer closed it."""

    def __init__(self, sink: Callable[[bytes], None]) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self._sink = sink
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while chunk := os.read(self.read_fd, 65536):
            self._sink(chunk)

    def close_writer(self) -> None:
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1

    def finish(self, timeout: float | None = 5.0) -> None:
        self.close_writer()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._thread is None or not self._thread.is_alive():
            os.close(self.read_fd)


def fd_writer(fd: int) -> Callable[[bytes], None]:
    def write(chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view) :]

    return write


def _discard(_chunk: bytes) -> None:
    return None


class StdioPlumbing:
    """The three descriptors runc passes to the container, and pumps for callbacks.

    stderr is always a pipe: runc prints its own errors there, and a failed create
    must not reach the user's terminal twice.
    """

    def __init__(self, stdin: int | None, stdout: OutputSink, stderr: OutputSink) -> None:
        self._opened: list[int] = []
        self.pumps: list[_Pump] = []
        if stdin is None:
            stdin = os.open(os.devnull, os.O_RDONLY)
            self._opened.append(stdin)
        self.stdin = stdin
        if isinstance(stdout, int):
            self.stdout = stdout
        else:
            pump = _Pump(stdout or _discard)
            self.pumps.append(pump)
            self.stdout = pump.write_fd
        err_pump = _Pump(fd_writer(stderr) if isinstance(stderr, int) else (stderr or _discard))
        self.pumps.append(err_pump)
        self.stderr = err_pump.write_fd

    def started(self) -> None:
        """The container holds its copies now: close ours and start copying."""
        for pump in self.pumps:
            pump.close_writer()
            pump.start()

    def close(self) -> None:
        for pump in self.pumps:
            pump.finish()
        for fd in self._opened:
            os.close(fd)
        self._opened.clear()


def write_etc_files(bundle: Path, hostname: str, host_network: bool) -> list[MountSpec]:
    """BuildKit's /etc/hosts and /etc/resolv.conf, bind-mounted read-only."""
    bundle.mkdir(parents=True, exist_ok=True)
    hosts = bundle / "hosts"
    hosts.write_text(etcfiles.hosts_file(hostname))
    resolv = bundle / "resolv.conf"
    resolv.write_text(etcfiles.resolv_conf(host_network))
    return [
        MountSpec.bind(resolv, "/etc/resolv.conf", readonly=True),
        MountSpec.bind(hosts, "/etc/hosts", readonly=True),
    ]


def run_process(
    rootfs: Path,
    process: ProcessSpec,
    *,
    mounts: Sequence[MountSpec] = (),
    network: Network = "host",
    hostname: str = BUILD_HOSTNAME,
    stdin: int | None = None,
    stdout: OutputSink = None,
    stderr: OutputSink = None,
    readonly_rootfs: bool = False,
    etc_files: bool = True,
    resources: Resources | None = None,
    root: Path | None = None,
) -> ExitStatus:
    """Run ``process`` in a new container whose root is the directory ``rootfs``.

    Returns how the process ended. Raises ``ContainerStartError`` (exit_code 127
    or 126) when the command cannot be executed, ``RuntimeError_`` for other runc
    failures. Nothing is left running or mounted when it returns or raises.
    """
    container_id = new_container_id()
    bundle = paths.bundles_dir(root) / container_id
    container = RuncContainer(container_id, bundle, paths.runc_state_root(root))
    all_mounts = list(mounts)
    if etc_files:
        all_mounts = write_etc_files(bundle, hostname, network == "host") + all_mounts
    options = SpecOptions(
        rootfs=Path(rootfs).resolve(),
        mounts=tuple(all_mounts),
        network=network,
        hostname=hostname,
        readonly_rootfs=readonly_rootfs,
        resources=resources or Resources(),
        cgroups_path=f"/dockyard/{container_id}",
    )
    owner = process_identity(os.getpid()) or str(os.getpid())
    container.write_bundle(build_spec(process, options), owner)
    plumbing = StdioPlumbing(stdin, stdout, stderr)
    try:
        container.create(
            stdin=plumbing.stdin, stdout=plumbing.stdout, stderr=plumbing.stderr, start=True
        )
        plumbing.started()
        return container.wait()
    except BaseException:
        if container.pid is not None:
            container.kill(signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(container.pid, 0)
        raise
    finally:
        plumbing.close()
        container.delete()


def cleanup_stale(root: Path | None = None) -> list[str]:
    """Remove build containers whose dockyard process died; returns their ids.

    A bundle records its owner (pid and start time); when the owner is gone the
    container is killed, forgotten by runc and its bundle removed.
    """
    removed: list[str] = []
    state_root = paths.runc_state_root(root)
    bundles = paths.bundles_dir(root)
    known: set[str] = set()
    for entry in list_containers(state_root):
        container_id = str(entry.get("id"))
        bundle = Path(str(entry.get("bundle", "")))
        known.add(container_id)
        if bundle.parent != bundles:
            continue
        if _owner_alive(bundle):
            continue
        container = RuncContainer(container_id, bundle, state_root)
        container.kill(signal.SIGKILL)
        container.delete()
        removed.append(container_id)
    if bundles.is_dir():
        for bundle in bundles.iterdir():
            if bundle.name not in known and not _owner_alive(bundle):
                shutil.rmtree(bundle, ignore_errors=True)
                removed.append(bundle.name)
    return removed


def _owner_alive(bundle: Path) -> bool:
    try:
        owner = (bundle / "owner").read_text().strip()
    except OSError:
        return False
    return owner_alive(owner)
