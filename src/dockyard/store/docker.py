"""Docker's presentation of images: ``inspect`` JSON, ``history`` rows, human sizes/times."""

from __future__ import annotations

import datetime
import re
import time
from typing import Any

from dockyard.oci import ContainerConfig
from dockyard.store.image import StoredImage

_SIZE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


def human_size(size: float) -> str:
    """go-units HumanSizeWithPrecision(size, 3): ``1.24MB``, ``4.1kB``."""
    unit = 0
    while size >= 1000.0 and unit < len(_SIZE_UNITS) - 1:
        size /= 1000.0
        unit += 1
    return f"{size:.3g}{_SIZE_UNITS[unit]}"


def human_duration(seconds: float) -> str:
    """go-units HumanDuration."""
    whole = int(seconds)
    if whole < 1:
        return "Less than a second"
    if whole == 1:
        return "1 second"
    if whole < 60:
        return f"{whole} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def parse_time(text: str) -> float | None:
    """Seconds since the epoch of an RFC 3339 time (nanoseconds allowed), None if unset."""
    match = _RFC3339.match(text)
    if match is None:
        return None
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    moment = datetime.datetime.fromisoformat(match.group(1) + zone)
    return moment.timestamp() + float("0" + (match.group(2) or ".0"))


def since(text: str) -> str:
    moment = parse_time(text)
    if moment is None:
        return "N/A"
    return human_duration(max(0.0, time.time() - moment)) + " ago"


def go_time(text: str) -> str:
    """``2024-01-01 00:00:00 +0000 UTC`` (Go's time.Time String, as ``docker images`` shows)."""
    moment = parse_time(text)
    if moment is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(moment))


def container_config(config: ContainerConfig) -> dict[str, Any]:
    """The Docker Engine API ``Config`` object (container.Config) of an image."""
    out: dict[str, Any] = {
        "Hostname": "", "Domainname": "", "User": config.user,
        "AttachStdin": False, "AttachStdout": False, "AttachStderr": False,
    }  # fmt: skip
    if config.exposed_ports:
        out["ExposedPorts"] = {port: {} for port in config.exposed_ports}
    out.update({"Tty": False, "OpenStdin": False, "StdinOnce": False,
                "Env": list(config.env) or None,
                "Cmd": list(config.cmd) if config.cmd is not None else None})  # fmt: skip
    if config.healthcheck is not None:
        out["Healthcheck"] = config.healthcheck.to_dict()
    if config.args_escaped:
        out["ArgsEscaped"] = True
    out["Image"] = ""
    out["Volumes"] = {volume: {} for volume in config.volumes} or None
    out["WorkingDir"] = config.working_dir
    out["Entrypoint"] = list(config.entrypoint) if config.entrypoint is not None else None
    out["OnBuild"] = list(config.on_build) if config.on_build else None
    out["Labels"] = dict(sorted(config.labels.items())) or None
    if config.stop_signal:
        out["StopSignal"] = config.stop_signal
    if config.shell:
        out["Shell"] = list(config.shell)
    return out


def inspect(image: StoredImage) -> dict[str, Any]:
    """``docker image inspect`` of a stored image."""
    config = image.config
    history = config.history
    return {
        "Id": str(image.id),
        "RepoTags": image.repo_tags,
        "RepoDigests": image.repo_digests,
        "Parent": "",
        "Comment": history[-1].comment if len(history) == 1 else "",
        "Created": config.created or "0001-01-01T00:00:00Z",
        "DockerVersion": "",
        "Author": config.author,
        "Config": container_config(config.config),
        "Architecture": config.architecture,
        **({"Variant": config.variant} if config.variant else {}),
        "Os": config.os,
        "Size": image.size,
        "VirtualSize": image.size,
        "RootFS": {"Type": "layers", "Layers": [str(d) for d in image.diff_ids]},
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
        "Descriptor": image.manifest_descriptor_dict(),
    }


def history_rows(image: StoredImage) -> list[dict[str, Any]]:
    """``docker history`` rows, newest first; sizes of the layers the entries made."""
    rows: list[dict[str, Any]] = []
    sizes = [layer.uncompressed_size or layer.descriptor.size for layer in image.layers]
    layer_index = 0
    for entry in image.config.history:
        size = 0
        if not entry.empty_layer and layer_index < len(sizes):
            size = sizes[layer_index]
            layer_index += 1
        rows.append({"Id": "<missing>", "Created": entry.created, "CreatedBy": entry.created_by,
                     "Size": size, "Comment": entry.comment})  # fmt: skip
    if not rows:
        rows = [{"Id": "<missing>", "Created": image.created, "CreatedBy": "",
                 "Size": image.size, "Comment": ""}]  # fmt: skip
    rows.reverse()
    rows[0]["Id"] = str(image.id)
    return rows
