"""``--change``: Dockerfile instructions applied to an imported image's config.

Like ``docker import --change``: CMD ENTRYPOINT ENV EXPOSE LABEL USER WORKDIR VOLUME
STOPSIGNAL ONBUILD. JSON (exec) form and shell form as in a Dockerfile.
"""

from __future__ import annotations

import json
import posixpath
import shlex
from collections.abc import Sequence
from dataclasses import replace

from dockyard.errors import UsageError
from dockyard.oci import ContainerConfig

SUPPORTED = (
    "CMD",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "LABEL",
    "USER",
    "WORKDIR",
    "VOLUME",
    "STOPSIGNAL",
    "ONBUILD",
)
_SHELL = ("/bin/sh", "-c")


def _json_list(text: str) -> tuple[str, ...] | None:
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return None


def _command(text: str, config: ContainerConfig) -> tuple[str, ...]:
    exec_form = _json_list(text)
    if exec_form is not None:
        return exec_form
    return (*(config.shell or _SHELL), text)


def _words(text: str, instruction: str) -> list[str]:
    try:
        return shlex.split(text, posix=True)
    except ValueError as error:
        raise UsageError(f"--change {instruction}: {error}") from None


def _pairs(text: str, instruction: str) -> list[tuple[str, str]]:
    words = _words(text, instruction)
    if words and "=" not in words[0]:
        if instruction == "LABEL" or len(words) < 2:
            raise UsageError(f"--change {instruction} needs KEY=VALUE pairs")
        key, _, value = text.strip().partition(" ")  # old form: ENV KEY value with spaces
        return [(key, value.strip())]
    pairs = []
    for word in words:
        key, equals, value = word.partition("=")
        if not equals or not key:
            raise UsageError(f"--change {instruction}: {word!r} is not KEY=VALUE")
        pairs.append((key, value))
    return pairs


def _with_env(config: ContainerConfig, pairs: list[tuple[str, str]]) -> ContainerConfig:
    env = list(config.env)
    for key, value in pairs:
        env = [entry for entry in env if entry.partition("=")[0] != key]
        env.append(f"{key}={value}")
    return replace(config, env=tuple(env))


def _apply_one(config: ContainerConfig, change: str, cmd_set: bool) -> ContainerConfig:
    keyword, _, rest = change.strip().partition(" ")
    instruction, text = keyword.upper(), rest.strip()
    if instruction not in SUPPORTED:
        raise UsageError(
            f"{keyword} is not a valid change command", "supported: " + " ".join(SUPPORTED)
        )
    if not text and instruction not in ("CMD", "ENTRYPOINT"):
        raise UsageError(f"--change {instruction} needs an argument")
    if instruction == "CMD":
        return replace(config, cmd=_command(text, config))
    if instruction == "ENTRYPOINT":
        # Like the builder: ENTRYPOINT drops a CMD that this change list did not set.
        return replace(
            config, entrypoint=_command(text, config), cmd=config.cmd if cmd_set else None
        )
    if instruction == "ENV":
        return _with_env(config, _pairs(text, instruction))
    if instruction == "LABEL":
        return replace(config, labels={**config.labels, **dict(_pairs(text, instruction))})
    if instruction == "EXPOSE":
        ports = [port if "/" in port else f"{port}/tcp" for port in _words(text, instruction)]
        return replace(config, exposed_ports=(*config.exposed_ports, *ports))
    if instruction == "VOLUME":
        volumes = _json_list(text) or tuple(_words(text, instruction))
        return replace(config, volumes=(*config.volumes, *volumes))
    if instruction == "WORKDIR":
        return replace(config, working_dir=posixpath.join(config.working_dir or "/", text))
    if instruction == "USER":
        return replace(config, user=text)
    if instruction == "STOPSIGNAL":
        return replace(config, stop_signal=text)
    trigger = text.partition(" ")[0].upper()
    if trigger in ("ONBUILD", "FROM", "MAINTAINER"):
        raise UsageError(f"{trigger} isn't allowed as an ONBUILD trigger")
    return replace(config, on_build=(*(config.on_build or ()), text))


def apply_changes(changes: Sequence[str], config: ContainerConfig | None = None) -> ContainerConfig:
    result = config or ContainerConfig()
    cmd_set = False
    for change in changes:
        result = _apply_one(result, change, cmd_set)
        cmd_set = cmd_set or change.strip().upper().startswith("CMD")
    return result
