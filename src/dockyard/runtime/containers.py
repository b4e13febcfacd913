"""Container operations: create from an image, and everything after (Docker's verbs).

The image arrives as an :class:`ImageInfo` (its config and unpacked layer
directories) so this module does not care where images are stored. The image
config is applied as Docker applies it: Entrypoint + Cmd and their overrides, Env
merged, WorkingDir, User, StopSignal, Volumes as anonymous volumes.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from dockyard.errors import RuntimeError_, UsageError
from dockyard.oci.config import DEFAULT_PATH
from dockyard.runtime import overlay, volumes
from dockyard.runtime.ports import PortMapping
from dockyard.runtime.records import (
    ContainerRecord,
    ContainerState,
    MountRecord,
    PortRecord,
    all_records,
    container_dir,
    load_state,
    names_lock,
    new_id,
    now,
    random_name,
    save_record,
    save_state,
)
from dockyard.runtime.runc import owner_alive
from dockyard.runtime.supervisor import remove_container_files, runc_container


@dataclass(frozen=True)
class ImageInfo:
    """What running needs from an image."""

    reference: str
    id: str
    lowerdirs: tuple[Path, ...]
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    working_dir: str = ""
    user: str = ""
    stop_signal: str = ""
    volumes: tuple[str, ...] = ()
    exposed_ports: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunOptions:
    name: str = ""
    command: tuple[str, ...] = ()
    entrypoint: str | None = None
    env: tuple[str, ...] = ()
    workdir: str = ""
    user: str | None = None
    hostname: str = ""
    network: str = "private"
    publish: tuple[PortMapping, ...] = ()
    publish_all: bool = False
    volumes: tuple[str, ...] = ()
    tmpfs: tuple[str, ...] = ()
    readonly_rootfs: bool = False
    memory_bytes: int | None = None
    cpus: float | None = None
    pids_limit: int | None = None
    auto_remove: bool = False
    init: bool = False
    tty: bool = False
    interactive: bool = False
    stop_timeout: int | None = None


def parse_signal(value: str | int) -> int:
    """``SIGTERM``, ``TERM``, ``15`` -> 15."""
    text = str(value).strip().upper()
    if text.isdigit():
        return int(text)
    name = text if text.startswith("SIG") else f"SIG{text}"
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise UsageError(
            f"invalid signal: {value}", "use a name like SIGTERM or a number"
        ) from None


def parse_size(text: str) -> int:
    """``256m``, ``64mb``, ``1g`` -> bytes (Docker's --memory units, powers of 1024)."""
    units = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
    value = text.strip().lower()
    if value[-2:-1] in ("k", "m", "g") and value.endswith("b"):
        value = value[:-1]
    suffix = value[-1:] if value[-1:].isalpha() else ""
    try:
        number = float(value[: len(value) - len(suffix)])
        unit = units[suffix]
    except (ValueError, KeyError):
        raise UsageError(f"invalid size: {text!r}", "use a number with b, k, m or g") from None
    return int(number * unit)


def merge_env(base: Sequence[str], overrides: Sequence[str]) -> list[str]:
    """Later entries win; ``NAME`` alone takes the value from dockyard's environment."""
    merged: dict[str, str] = {}
    for item in base:
        key, _, value = item.partition("=")
        merged[key] = value
    for item in overrides:
        key, has_value, value = item.partition("=")
        if not key:
            raise UsageError(f"invalid environment variable: {item!r}")
        if has_value:
            merged[key] = value
        elif key in os.environ:
            merged[key] = os.environ[key]
    return [f"{key}={value}" for key, value in merged.items()]


def _command(image: ImageInfo, options: RunOptions) -> tuple[str, ...]:
    if options.entrypoint is not None:
        entrypoint: tuple[str, ...] = (options.entrypoint,) if options.entrypoint else ()
        cmd = options.command  # an overridden entrypoint drops the image's Cmd
    else:
        entrypoint = image.entrypoint or ()
        cmd = options.command or image.cmd or ()
    args = (*entrypoint, *cmd)
    if not args:
        raise UsageError(
            "no command specified", "give a command after the image name, or set CMD in the image"
        )
    return args


def _mounts(image: ImageInfo, options: RunOptions) -> tuple[MountRecord, ...]:
    mounts = [volumes.parse_volume(spec) for spec in options.volumes]
    for spec in options.tmpfs:
        destination = spec.partition(":")[0]
        if not destination.startswith("/"):
            raise UsageError(f"invalid --tmpfs {spec!r}: not an absolute path")
        mounts.append(MountRecord("tmpfs", "tmpfs", destination))
    taken = {mount.destination for mount in mounts}
    for destination in image.volumes:
        if os.path.normpath(destination) not in taken:
            mounts.append(volumes.anonymous_volume(os.path.normpath(destination)))
    return tuple(mounts)


def _ports(image: ImageInfo, options: RunOptions) -> tuple[PortRecord, ...]:
    ports = [
        PortRecord(p.host_ip, p.host_port, p.container_port, p.protocol) for p in options.publish
    ]
    if options.publish_all:
        published = {(p.container_port, p.protocol) for p in ports}
        for exposed in image.exposed_ports:
            number, _, protocol = exposed.partition("/")
            key = (int(number), protocol or "tcp")
            if key not in published:
                ports.append(PortRecord("", 0, key[0], key[1]))
    return tuple(ports)


def create_container(image: ImageInfo, options: RunOptions) -> ContainerRecord:
    """Record a new container (state "created"); nothing runs yet."""
    if options.network not in ("private", "host", "none", "bridge", "default"):
        raise UsageError(
            f"unknown network {options.network!r}", "use --network private, host or none"
        )
    network = "private" if options.network in ("bridge", "default") else options.network
    workdir = options.workdir or image.working_dir or "/"
    if not workdir.startswith("/"):
        raise UsageError(
            f"the working directory {workdir!r} is invalid, it needs to be an absolute path"
        )
    container_id = new_id()
    if options.hostname:
        hostname = options.hostname
    else:
        hostname = socket.gethostname() if network == "host" else container_id[:12]
    env = merge_env(image.env, options.env)
    if not any(item.startswith("PATH=") for item in env):
        env.insert(0, f"PATH={DEFAULT_PATH}")
    env.insert(0, f"HOSTNAME={hostname}")
    if options.tty and not any(item.startswith("TERM=") for item in env):
        env.append("TERM=xterm")
    stop_signal = parse_signal(image.stop_signal or "SIGTERM")
    args = _command(image, options)
    mounts = _mounts(image, options)
    with names_lock():
        records = all_records()
        taken = {record.name for record in records}
        name = options.name.removeprefix("/")
        if name and name in taken:
            owner = next(record for record in records if record.name == name)
            raise RuntimeError_(
                f'the container name "/{name}" is already in use by container {owner.id}',
                "remove that container or choose another name",
            )
        record = ContainerRecord(
            id=container_id,
            name=name or random_name(taken),
            image=image.reference,
            image_id=image.id,
            created=now(),
            args=args,
            env=tuple(env),
            cwd=os.path.normpath(workdir),
            user=options.user if options.user is not None else image.user,
            hostname=hostname,
            network=network,
            ports=_ports(image, options) if network == "private" else (),
            mounts=mounts,
            lowerdirs=tuple(str(path) for path in image.lowerdirs),
            readonly_rootfs=options.readonly_rootfs,
            memory_bytes=options.memory_bytes,
            cpus=options.cpus,
            pids_limit=options.pids_limit,
            stop_signal=stop_signal,
            stop_timeout=10 if options.stop_timeout is None else options.stop_timeout,
            auto_remove=options.auto_remove,
            init=options.init,
            tty=options.tty,
            interactive=options.interactive,
        )
        directory = save_record(record)
        save_state(directory, ContainerState())
    return record


def current_state(record: ContainerRecord) -> ContainerState:
    """The state, reconciled: a container whose supervisor died is exited (and its
    leftovers — runc state, processes, the rootfs mount — are cleaned up)."""
    directory = container_dir(record.id)
    state = load_state(directory)
    if state.status != "running" or owner_alive(state.supervisor):
        return state
    container = runc_container(record)
    container.kill(signal.SIGKILL, all_processes=True)
    container.delete(remove_bundle=False)
    if overlay.is_mountpoint(directory / "rootfs"):
        overlay.unmount(directory / "rootfs")
    if record.auto_remove:
        remove_container_files(record)
        return state.exited(137, error="the container's supervisor died")
    state = state.exited(137, error="the container's supervisor died")
    save_state(directory, state)
    return state


def list_containers(include_all: bool = False) -> list[tuple[ContainerRecord, ContainerState]]:
    listed = []
    for record in all_records():
        state = current_state(record)
        if include_all or state.status == "running":
            listed.append((record, state))
    return listed


def wait_exited(record: ContainerRecord, timeout: float | None = None) -> ContainerState | None:
    """Polls until the container exited (or its files are gone); None on timeout."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        if not container_dir(record.id).is_dir():
            return ContainerState(status="removed")
        state = current_state(record)
        if state.status != "running":
            return state
        if deadline is not None and time.monotonic() >= deadline:
            return None
        time.sleep(0.02)


def stop(record: ContainerRecord, timeout: int | None = None) -> None:
    """Docker's stop: the stop signal, SIGKILL after ``timeout`` seconds."""
    if current_state(record).status != "running":
        return
    container = runc_container(record)
    container.kill(record.stop_signal)
    grace = record.stop_timeout if timeout is None else timeout
    if wait_exited(record, grace) is None:
        container.kill(signal.SIGKILL, all_processes=True)
        if wait_exited(record, 30) is None:
            raise RuntimeError_(f"container {record.name} did not stop")


def kill(record: ContainerRecord, signum: int = signal.SIGKILL) -> None:
    if current_state(record).status != "running":
        raise RuntimeError_(f"container {record.name} is not running")
    if not runc_container(record).kill(signum):
        raise RuntimeError_(f"cannot signal container {record.name}")


def remove(record: ContainerRecord, *, force: bool = False, volumes_too: bool = False) -> None:
    state = current_state(record)
    if state.status == "running":
        if not force:
            raise RuntimeError_(
                f"cannot remove container {record.name}: it is running",
                "stop it first, or use 'dockyard rm -f'",
            )
        kept = replace(record, auto_remove=False)
        runc_container(kept).kill(signal.SIGKILL, all_processes=True)
        wait_exited(kept, 30)
    if volumes_too:
        remove_container_files(record)
    else:
        remove_container_files(replace(record, mounts=()))
