"""``inspect`` of a container: Docker's JSON shape (State, Config, HostConfig…)."""

from __future__ import annotations

import signal
from dataclasses import asdict

from dockyard.runtime.containers import current_state
from dockyard.runtime.records import find


def inspect_container(reference: str) -> dict[str, object]:
    """Docker-like ``inspect`` document of a container (State, Config, Mounts…)."""
    record = find(reference)
    state = current_state(record)
    return {
        "Id": record.id,
        "Name": "/" + record.name,
        "Created": record.created,
        "Image": record.image_id,
        "Path": record.args[0],
        "Args": list(record.args[1:]),
        "State": {
            "Status": state.status,
            "Running": state.status == "running",
            "OOMKilled": state.oom_killed,
            "Pid": state.pid,
            "ExitCode": state.exit_code or 0,
            "Error": state.error,
            "StartedAt": state.started_at,
            "FinishedAt": state.finished_at,
        },
        "Config": {
            "Hostname": record.hostname,
            "User": record.user,
            "Env": list(record.env),
            "Cmd": list(record.args),
            "Image": record.image,
            "WorkingDir": record.cwd,
            "Tty": record.tty,
            "OpenStdin": record.interactive,
            "StopSignal": signal.Signals(record.stop_signal).name,
        },
        "HostConfig": {
            "NetworkMode": record.network,
            "AutoRemove": record.auto_remove,
            "ReadonlyRootfs": record.readonly_rootfs,
            "Memory": record.memory_bytes or 0,
            "NanoCpus": int((record.cpus or 0) * 1e9),
            "PidsLimit": record.pids_limit,
            "Init": record.init,
        },
        "NetworkSettings": {
            "Ports": {
                f"{p.container_port}/{p.protocol}": [
                    {"HostIp": p.host_ip or "0.0.0.0", "HostPort": str(p.host_port)}
                ]
                for p in record.ports
            }
        },
        "Mounts": [asdict(mount) for mount in record.mounts],
    }
