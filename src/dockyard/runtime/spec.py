"""The OCI runtime-spec ``config.json`` dockyard hands to runc.

Pure data: :func:`build_spec` turns a :class:`ProcessSpec`, mounts and options into
the JSON document. The defaults are Docker's and BuildKit's (containerd's
``oci/spec.go`` default Unix spec, moby's ``daemon/oci_linux.go``): the same
capabilities, the same ``/proc`` ``/dev`` ``/sys`` mounts, the same masked and
read-only paths, and ``/run`` left alone (BuildKit removes containerd's tmpfs there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dockyard.oci.config import DEFAULT_PATH

# Docker's and containerd's default capability set.
DEFAULT_CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
)

MASKED_PATHS: tuple[str, ...] = (
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
)

READONLY_PATHS: tuple[str, ...] = (
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
)

Network = Literal["host", "none", "private"]


@dataclass(frozen=True)
class ProcessSpec:
    """The process to run inside the container."""

    args: tuple[str, ...]
    env: tuple[str, ...] = (f"PATH={DEFAULT_PATH}",)
    cwd: str = "/"
    uid: int = 0
    gid: int = 0
    additional_gids: tuple[int, ...] = ()
    terminal: bool = False


@dataclass(frozen=True)
class MountSpec:
    """One mount of the runtime spec (``bind`` or ``tmpfs``, or any type runc knows)."""

    destination: str
    source: str
    type: str = "bind"
    options: tuple[str, ...] = ()

    @classmethod
    def bind(cls, source: str | Path, destination: str, *, readonly: bool = False) -> MountSpec:
        options = ("rbind", "ro" if readonly else "rw")
        return cls(destination, str(source), "bind", options)

    @classmethod
    def tmpfs(cls, destination: str, options: Sequence[str] = ()) -> MountSpec:
        return cls(destination, "tmpfs", "tmpfs", ("nosuid", "nodev", *options))


@dataclass(frozen=True)
class Resources:
    """cgroup limits; ``None`` means unlimited."""

    memory_bytes: int | None = None
    cpus: float | None = None
    pids_limit: int | None = None


@dataclass(frozen=True)
class SpecOptions:
    """Everything about the container that is not the process."""

    rootfs: Path
    mounts: tuple[MountSpec, ...] = ()
    network: Network = "host"
    netns_path: str | None = None
    hostname: str = "buildkitsandbox"
    readonly_rootfs: bool = False
    resources: Resources = field(default_factory=Resources)
    cgroups_path: str | None = None
    masked_paths: tuple[str, ...] = MASKED_PATHS
    readonly_paths: tuple[str, ...] = READONLY_PATHS
    annotations: Mapping[str, str] = field(default_factory=dict)


def default_mounts() -> list[dict[str, Any]]:
    """The kernel file systems every container gets (Docker's default set)."""
    return [
        {
            "destination": "/proc",
            "type": "proc",
            "source": "proc",
            "options": ["nosuid", "noexec", "nodev"],
        },
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
        },
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        },
        {
            "destination": "/sys",
            "type": "sysfs",
            "source": "sysfs",
            "options": ["nosuid", "noexec", "nodev", "ro"],
        },
        {
            "destination": "/sys/fs/cgroup",
            "type": "cgroup",
            "source": "cgroup",
            "options": ["ro", "nosuid", "noexec", "nodev"],
        },
        {
            "destination": "/dev/mqueue",
            "type": "mqueue",
            "source": "mqueue",
            "options": ["nosuid", "noexec", "nodev"],
        },
        {
            "destination": "/dev/shm",
            "type": "tmpfs",
            "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        },
    ]


def _capabilities(uid: int) -> dict[str, list[str]]:
    caps = list(DEFAULT_CAPABILITIES)
    if uid == 0:
        return {"bounding": caps, "effective": caps, "permitted": caps}
    # Like Docker: a non-root user keeps the bounding set only; the kernel grants
    # the rest to set-uid binaries and file capabilities.
    return {"bounding": caps, "effective": [], "permitted": []}


def _resources(resources: Resources) -> dict[str, Any]:
    out: dict[str, Any] = {"devices": [{"allow": False, "access": "rwm"}]}
    if resources.memory_bytes is not None:
        # Docker's default --memory-swap is twice --memory.
        out["memory"] = {
            "limit": resources.memory_bytes,
            "swap": 2 * resources.memory_bytes,
        }
    if resources.cpus is not None:
        period = 100_000
        out["cpu"] = {"period": period, "quota": int(resources.cpus * period)}
    if resources.pids_limit is not None:
        out["pids"] = {"limit": resources.pids_limit}
    return out


def process_dict(process: ProcessSpec) -> dict[str, Any]:
    """The ``process`` object of the spec (also what ``runc exec --process`` reads)."""
    user: dict[str, Any] = {"uid": process.uid, "gid": process.gid}
    if process.additional_gids:
        user["additionalGids"] = list(process.additional_gids)
    return {
        "terminal": process.terminal,
        "user": user,
        "args": list(process.args),
        "env": list(process.env),
        "cwd": process.cwd,
        "capabilities": _capabilities(process.uid),
        "noNewPrivileges": False,
    }


def build_spec(process: ProcessSpec, options: SpecOptions) -> dict[str, Any]:
    """The ``config.json`` document for runc."""
    namespaces: list[dict[str, str]] = [
        {"type": "pid"},
        {"type": "ipc"},
        {"type": "uts"},
        {"type": "mount"},
    ]
    if options.network == "none" or options.network == "private":
        namespace = {"type": "network"}
        if options.netns_path:
            namespace["path"] = options.netns_path
        namespaces.append(namespace)
    mounts = default_mounts()
    mounts += [
        {"destination": m.destination, "type": m.type, "source": m.source, "options": [*m.options]}
        for m in options.mounts
    ]
    linux: dict[str, Any] = {
        "namespaces": namespaces,
        "resources": _resources(options.resources),
        "maskedPaths": list(options.masked_paths),
        "readonlyPaths": list(options.readonly_paths),
    }
    if options.cgroups_path:
        linux["cgroupsPath"] = options.cgroups_path
    spec: dict[str, Any] = {
        "ociVersion": "1.0.2",
        "process": process_dict(process),
        "root": {"path": str(options.rootfs), "readonly": options.readonly_rootfs},
        "hostname": options.hostname,
        "mounts": mounts,
        "linux": linux,
    }
    if options.annotations:
        spec["annotations"] = dict(options.annotations)
    return spec
