"""Container records on disk: what a container is, and what state it is in.

One directory per container under ``<root>/containers/<id>/``:

- ``container.json`` — the :class:`ContainerRecord`, written once at create;
- ``state.json`` — the :class:`ContainerState`, rewritten (atomically) by the
  container's supervisor as it starts and exits;
- ``log.json`` — the output, one JSON object per chunk (Docker's json-file form);
- ``bundle/``, ``upper/``, ``work/``, ``rootfs/`` — runc bundle and the overlay.

Every write is a rename of a complete file, so readers in other processes never
see half a record.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dockyard.errors import ContainerNotFoundError, RuntimeError_
from dockyard.runtime import paths


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class PortRecord:
    host_ip: str
    host_port: int
    container_port: int
    protocol: str = "tcp"

    def __str__(self) -> str:
        ip = self.host_ip or "0.0.0.0"
        return f"{ip}:{self.host_port}->{self.container_port}/{self.protocol}"


@dataclass(frozen=True)
class MountRecord:
    """A volume or bind mount: type is "bind", "volume" or "tmpfs"."""

    type: str
    source: str
    destination: str
    readonly: bool = False
    name: str = ""
    anonymous: bool = False


@dataclass(frozen=True)
class ContainerRecord:
    id: str
    name: str
    image: str
    image_id: str
    created: str
    args: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str
    user: str
    hostname: str
    network: str
    ports: tuple[PortRecord, ...] = ()
    mounts: tuple[MountRecord, ...] = ()
    lowerdirs: tuple[str, ...] = ()
    readonly_rootfs: bool = False
    memory_bytes: int | None = None
    cpus: float | None = None
    pids_limit: int | None = None
    stop_signal: int = 15
    stop_timeout: int = 10
    auto_remove: bool = False
    init: bool = False
    tty: bool = False
    interactive: bool = False
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> ContainerRecord:
        data: dict[str, Any] = json.loads(text)
        data["ports"] = tuple(PortRecord(**port) for port in data.get("ports", ()))
        data["mounts"] = tuple(MountRecord(**mount) for mount in data.get("mounts", ()))
        for key in ("args", "env", "lowerdirs"):
            data[key] = tuple(data.get(key, ()))
        return cls(**data)


@dataclass(frozen=True)
class ContainerState:
    """created -> running -> exited. ``supervisor`` is the identity of the process
    that waits for the container (``pid:starttime``)."""

    status: str = "created"
    pid: int = 0
    supervisor: str = ""
    exit_code: int | None = None
    oom_killed: bool = False
    error: str = ""
    started_at: str = ""
    finished_at: str = ""

    def exited(
        self, exit_code: int, *, oom_killed: bool = False, error: str = ""
    ) -> ContainerState:
        return replace(
            self,
            status="exited",
            pid=0,
            exit_code=exit_code,
            oom_killed=oom_killed,
            error=error or self.error,
            finished_at=now(),
        )


def container_dir(container_id: str, root: Path | None = None) -> Path:
    return paths.containers_dir(root) / container_id


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def save_record(record: ContainerRecord, root: Path | None = None) -> Path:
    directory = container_dir(record.id, root)
    directory.mkdir(parents=True, exist_ok=True)
    _write_atomic(directory / "container.json", record.to_json())
    return directory


def load_record(directory: Path) -> ContainerRecord:
    return ContainerRecord.from_json((directory / "container.json").read_text())


def save_state(directory: Path, state: ContainerState) -> None:
    _write_atomic(directory / "state.json", json.dumps(asdict(state)))


def load_state(directory: Path) -> ContainerState:
    try:
        return ContainerState(**json.loads((directory / "state.json").read_text()))
    except (OSError, ValueError):
        return ContainerState()


def all_records(root: Path | None = None) -> list[ContainerRecord]:
    base = paths.containers_dir(root)
    if not base.is_dir():
        return []
    records = []
    for directory in base.iterdir():
        with contextlib.suppress(OSError, ValueError, TypeError):
            records.append(load_record(directory))
    records.sort(key=lambda record: record.created, reverse=True)
    return records


def find(reference: str, root: Path | None = None) -> ContainerRecord:
    """A container by name, full id or unique id prefix (Docker's lookup order)."""
    records = all_records(root)
    name = reference.removeprefix("/")
    for record in records:
        if record.id == reference or record.name == name:
            return record
    matches = [record for record in records if record.id.startswith(reference)]
    if len(matches) == 1 and reference:
        return matches[0]
    if len(matches) > 1:
        raise RuntimeError_(
            f"multiple containers match {reference!r}", "give more characters of the id"
        )
    raise ContainerNotFoundError(
        f"no such container: {reference}", "list containers with 'dockyard ps -a'"
    )


@contextlib.contextmanager
def names_lock(root: Path | None = None) -> Iterator[None]:
    """Serialises name allocation across dockyard processes."""
    base = paths.containers_dir(root)
    base.mkdir(parents=True, exist_ok=True)
    with open(base / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


_ADJECTIVES = [
    "brave",
    "calm",
    "eager",
    "fancy",
    "gentle",
    "happy",
    "jolly",
    "keen",
    "lucid",
    "merry",
    "nimble",
    "proud",
    "quiet",
    "sharp",
    "swift",
    "tender",
    "upbeat",
    "vivid",
    "witty",
    "zealous",
]
_NOUNS = [
    "albatross",
    "beacon",
    "capstan",
    "dinghy",
    "ensign",
    "frigate",
    "galley",
    "harbor",
    "jetty",
    "keel",
    "lantern",
    "mooring",
    "navigator",
    "pier",
    "quay",
    "rudder",
    "schooner",
    "tugboat",
    "vessel",
    "wharf",
]


def new_id() -> str:
    return secrets.token_hex(32)


def random_name(taken: set[str]) -> str:
    while True:
        name = f"{secrets.choice(_ADJECTIVES)}_{secrets.choice(_NOUNS)}"
        if name not in taken:
            return name
        name = f"{name}{secrets.randbelow(100)}"
        if name not in taken:
            return name
