"""The image config blob: platform, container defaults, rootfs diff_ids, history.

Field names, order and omissions are those of the BuildKit this project matches (the
one built into Docker 20.10, moby/buildkit v0.8 ``dockerfile2llb.Image``): top-level
keys sorted, the inner ``config`` in Go struct order (the OCI ``ImageConfig`` fields,
then ``Healthcheck``, ``ArgsEscaped``, ``OnBuild``, ``Shell``), empty fields left out
except ``OnBuild``, which Go writes as ``null`` when unset (so does Docker's engine).
This is the one writer of image configs: builds (``solver.export``), imports, bootstrap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dockyard.digest import Digest
from dockyard.errors import StoreError
from dockyard.oci.canonical import (
    JSONObject,
    dumps,
    get_int,
    get_obj,
    get_set,
    get_str,
    get_str_list,
    get_str_map,
    loads,
    sorted_map,
)
from dockyard.oci.descriptor import Platform

# The PATH an image gets when nothing sets one (BuildKit adds it to a config without PATH;
# `docker run` and runc use it when the image has none).
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Healthcheck:
    """Docker's HEALTHCHECK; durations in nanoseconds like Docker's JSON."""

    test: tuple[str, ...] = ()
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0

    def to_dict(self) -> JSONObject:
        out: JSONObject = {}
        if self.test:
            out["Test"] = list(self.test)
        for key, value in (
            ("Interval", self.interval),
            ("Timeout", self.timeout),
            ("StartPeriod", self.start_period),
            ("StartInterval", self.start_interval),
            ("Retries", self.retries),
        ):
            if value:
                out[key] = value
        return out

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Healthcheck:
        what = "healthcheck"
        return cls(
            test=get_str_list(obj, "Test", what) or (),
            interval=get_int(obj, "Interval", what),
            timeout=get_int(obj, "Timeout", what),
            start_period=get_int(obj, "StartPeriod", what),
            start_interval=get_int(obj, "StartInterval", what),
            retries=get_int(obj, "Retries", what),
        )


@dataclass(frozen=True)
class ContainerConfig:
    """The ``config`` object: defaults for containers run from the image.

    ``entrypoint``/``cmd``/``shell``/``on_build`` are ``None`` when unset (Docker tells
    unset from empty); ``exposed_ports`` and ``volumes`` are sorted keys (``"80/tcp"``,
    ``"/data"``). Mutations return new values (``dataclasses.replace``).
    """

    user: str = ""
    exposed_ports: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    volumes: tuple[str, ...] = ()
    working_dir: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    stop_signal: str = ""
    args_escaped: bool = False
    healthcheck: Healthcheck | None = None
    on_build: tuple[str, ...] | None = None
    shell: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        # Go maps (ExposedPorts, Volumes) have no order: keep them sorted so equal is equal.
        object.__setattr__(self, "exposed_ports", tuple(sorted(set(self.exposed_ports))))
        object.__setattr__(self, "volumes", tuple(sorted(set(self.volumes))))

    def to_dict(self) -> JSONObject:
        out: JSONObject = {}
        if self.user:
            out["User"] = self.user
        if self.exposed_ports:
            out["ExposedPorts"] = {port: {} for port in sorted(self.exposed_ports)}
        if self.env:
            out["Env"] = list(self.env)
        if self.entrypoint:
            out["Entrypoint"] = list(self.entrypoint)
        if self.cmd:
            out["Cmd"] = list(self.cmd)
        if self.volumes:
            out["Volumes"] = {volume: {} for volume in sorted(self.volumes)}
        if self.working_dir:
            out["WorkingDir"] = self.working_dir
        if self.labels:
            out["Labels"] = sorted_map(self.labels)
        if self.stop_signal:
            out["StopSignal"] = self.stop_signal
        if self.healthcheck is not None:
            out["Healthcheck"] = self.healthcheck.to_dict()
        if self.args_escaped:
            out["ArgsEscaped"] = True
        out["OnBuild"] = list(self.on_build) if self.on_build is not None else None
        if self.shell:
            out["Shell"] = list(self.shell)
        return out

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> ContainerConfig:
        what = "image config"
        healthcheck = get_obj(obj, "Healthcheck", what)
        args_escaped = obj.get("ArgsEscaped", False)
        return cls(
            user=get_str(obj, "User", what),
            exposed_ports=get_set(obj, "ExposedPorts", what),
            env=get_str_list(obj, "Env", what) or (),
            entrypoint=get_str_list(obj, "Entrypoint", what),
            cmd=get_str_list(obj, "Cmd", what),
            volumes=get_set(obj, "Volumes", what),
            working_dir=get_str(obj, "WorkingDir", what),
            labels=get_str_map(obj, "Labels", what),
            stop_signal=get_str(obj, "StopSignal", what),
            args_escaped=bool(args_escaped),
            healthcheck=Healthcheck.from_dict(healthcheck) if healthcheck is not None else None,
            on_build=get_str_list(obj, "OnBuild", what),
            shell=get_str_list(obj, "Shell", what),
        )

    def env_dict(self) -> dict[str, str]:
        """``Env`` as a mapping (later entries win, like Docker)."""
        result: dict[str, str] = {}
        for entry in self.env:
            key, _, value = entry.partition("=")
            result[key] = value
        return result


@dataclass(frozen=True)
class History:
    created: str = ""
    created_by: str = ""
    author: str = ""
    comment: str = ""
    empty_layer: bool = False

    def to_dict(self) -> JSONObject:
        out: JSONObject = {}
        for key, value in (
            ("created", self.created),
            ("created_by", self.created_by),
            ("author", self.author),
            ("comment", self.comment),
        ):
            if value:
                out[key] = value
        if self.empty_layer:
            out["empty_layer"] = True
        return out

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> History:
        what = "history entry"
        return cls(
            created=get_str(obj, "created", what),
            created_by=get_str(obj, "created_by", what),
            author=get_str(obj, "author", what),
            comment=get_str(obj, "comment", what),
            empty_layer=bool(obj.get("empty_layer", False)),
        )


@dataclass(frozen=True)
class RootFS:
    diff_ids: tuple[Digest, ...] = ()
    type: str = "layers"

    def to_dict(self) -> JSONObject:
        return {"type": self.type, "diff_ids": [str(d) for d in self.diff_ids]}

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> RootFS:
        what = "image config rootfs"
        diff_ids = get_str_list(obj, "diff_ids", what) or ()
        for diff_id in diff_ids:
            if not Digest.is_valid(diff_id):
                raise StoreError(f"{what}: invalid diff_id {diff_id!r}")
        return cls(tuple(Digest(d) for d in diff_ids), get_str(obj, "type", what, "layers"))


@dataclass(frozen=True)
class ImageConfig:
    """The config blob of an image; its digest is the image id (like Docker)."""

    architecture: str = "amd64"
    os: str = "linux"
    config: ContainerConfig = field(default_factory=ContainerConfig)
    rootfs: RootFS = field(default_factory=RootFS)
    history: tuple[History, ...] = ()
    created: str = ""
    author: str = ""
    variant: str = ""
    os_version: str = ""

    @property
    def platform(self) -> Platform:
        return Platform(self.os, self.architecture, self.variant, self.os_version)

    def to_dict(self) -> JSONObject:
        out: JSONObject = {"architecture": self.architecture}
        if self.author:
            out["author"] = self.author
        out["config"] = self.config.to_dict()
        if self.created:
            out["created"] = self.created
        if self.history:
            out["history"] = [entry.to_dict() for entry in self.history]
        out["os"] = self.os
        if self.os_version:
            out["os.version"] = self.os_version
        out["rootfs"] = self.rootfs.to_dict()
        if self.variant:
            out["variant"] = self.variant
        return out

    def to_json(self) -> bytes:
        return dumps(self.to_dict())

    @classmethod
    def from_json(cls, data: bytes, what: str = "image config") -> ImageConfig:
        obj = loads(data, what)
        inner = get_obj(obj, "config", what)
        rootfs = get_obj(obj, "rootfs", what)
        history = obj.get("history") or []
        if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
            raise StoreError(f"{what}: history must be a list of objects")
        return cls(
            architecture=get_str(obj, "architecture", what),
            os=get_str(obj, "os", what),
            config=ContainerConfig.from_dict(inner) if inner is not None else ContainerConfig(),
            rootfs=RootFS.from_dict(rootfs) if rootfs is not None else RootFS(),
            history=tuple(History.from_dict(entry) for entry in history),
            created=get_str(obj, "created", what),
            author=get_str(obj, "author", what),
            variant=get_str(obj, "variant", what),
            os_version=get_str(obj, "os.version", what),
        )

    def with_diff_ids(self, diff_ids: tuple[Digest, ...]) -> ImageConfig:
        return replace(self, rootfs=RootFS(diff_ids))

    def with_config(self, **changes: Any) -> ImageConfig:
        """A copy with fields of the inner container config replaced."""
        return replace(self, config=replace(self.config, **changes))
