"""The image config a Dockerfile stage builds up, written exactly as BuildKit writes it.

``ImageConfig`` holds the fields of the OCI/Docker ``config`` object BuildKit's
Dockerfile frontend keeps (anything else in a base image's config is dropped, as
BuildKit drops it). ``to_json`` writes them in BuildKit's field order with Go's
escaping, so the bytes match. ``HistoryEntry`` is one ``history`` item; the
``created_by`` strings come from the ``history_*`` helpers, which reproduce Go's
``%q``/``%v`` formatting that BuildKit uses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HISTORY_COMMENT = "buildkit.dockerfile.v0"
DEFAULT_SHELL = ("/bin/sh", "-c")


@dataclass(frozen=True)
class Healthcheck:
    test: tuple[str, ...]
    interval_ns: int = 0
    timeout_ns: int = 0
    start_period_ns: int = 0
    start_interval_ns: int = 0
    retries: int = 0


@dataclass(frozen=True)
class ImageConfig:
    """The ``config`` object of an image (fields BuildKit keeps)."""

    user: str = ""
    exposed_ports: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    volumes: tuple[str, ...] = ()
    working_dir: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    stop_signal: str = ""
    healthcheck: Healthcheck | None = None
    args_escaped: bool = False
    on_build: tuple[str, ...] | None = None
    shell: tuple[str, ...] | None = None

    def with_(self, **changes: Any) -> ImageConfig:
        return replace(self, **changes)

    @property
    def run_shell(self) -> tuple[str, ...]:
        return self.shell if self.shell else DEFAULT_SHELL

    def env_value(self, key: str) -> str | None:
        for item in self.env:
            name, _, value = item.partition("=")
            if name == key:
                return value
        return None

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON object, keys in BuildKit's order, empty fields omitted."""
        out: dict[str, Any] = {}
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
            out["Volumes"] = {path: {} for path in sorted(self.volumes)}
        if self.working_dir:
            out["WorkingDir"] = self.working_dir
        if self.labels:
            out["Labels"] = dict(sorted(self.labels))
        if self.stop_signal:
            out["StopSignal"] = self.stop_signal
        if self.healthcheck is not None:
            out["Healthcheck"] = _healthcheck_dict(self.healthcheck)
        if self.args_escaped:
            out["ArgsEscaped"] = True
        out["OnBuild"] = list(self.on_build) if self.on_build is not None else None
        if self.shell:
            out["Shell"] = list(self.shell)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ImageConfig:
        """Read the ``config`` object of a base image (unknown fields are dropped)."""
        if not data:
            return cls()
        health = data.get("Healthcheck")
        return cls(
            user=data.get("User") or "",
            exposed_ports=tuple(sorted(data.get("ExposedPorts") or {})),
            env=tuple(data.get("Env") or ()),
            entrypoint=_tuple_or_none(data.get("Entrypoint")),
            cmd=_tuple_or_none(data.get("Cmd")),
            volumes=tuple(sorted(data.get("Volumes") or {})),
            working_dir=data.get("WorkingDir") or "",
            labels=tuple(sorted((data.get("Labels") or {}).items())),
            stop_signal=data.get("StopSignal") or "",
            healthcheck=_healthcheck_from(health) if health else None,
            args_escaped=bool(data.get("ArgsEscaped")),
            on_build=_tuple_or_none(data.get("OnBuild")),
            shell=_tuple_or_none(data.get("Shell")),
        )


def _tuple_or_none(value: Sequence[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


def _healthcheck_dict(health: Healthcheck) -> dict[str, Any]:
    out: dict[str, Any] = {"Test": list(health.test)}
    for key, value in (
        ("Interval", health.interval_ns),
        ("Timeout", health.timeout_ns),
        ("StartPeriod", health.start_period_ns),
        ("StartInterval", health.start_interval_ns),
        ("Retries", health.retries),
    ):
        if value:
            out[key] = value
    return out


def _healthcheck_from(data: Mapping[str, Any]) -> Healthcheck:
    return Healthcheck(
        test=tuple(data.get("Test") or ()),
        interval_ns=int(data.get("Interval") or 0),
        timeout_ns=int(data.get("Timeout") or 0),
        start_period_ns=int(data.get("StartPeriod") or 0),
        start_interval_ns=int(data.get("StartInterval") or 0),
        retries=int(data.get("Retries") or 0),
    )


@dataclass(frozen=True)
class HistoryEntry:
    """One ``history`` item. ``raw`` keeps a base image's entry verbatim."""

    created_by: str = ""
    empty_layer: bool = False
    comment: str = HISTORY_COMMENT
    raw: Mapping[str, Any] | None = field(default=None, compare=False)

    def to_dict(self, created: str | None) -> dict[str, Any]:
        if self.raw is not None:
            return dict(self.raw)
        out: dict[str, Any] = {}
        if created:
            out["created"] = created
        out["created_by"] = self.created_by
        out["comment"] = self.comment
        if self.empty_layer:
            out["empty_layer"] = True
        return out


def go_json(value: object) -> str:
    """JSON as Go's encoding/json writes it (compact, HTML characters escaped)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


_GO_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
}


def go_quote(text: str) -> str:
    """Go's ``strconv.Quote`` (what ``%q`` prints for a string)."""
    out = ['"']
    for char in text:
        if char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif char.isprintable() or char == " ":
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append('"')
    return "".join(out)


def go_quote_list(items: Sequence[str]) -> str:
    """``%q`` of a []string: ``["a" "b"]``."""
    return "[" + " ".join(go_quote(item) for item in items) + "]"


def go_list(items: Sequence[str]) -> str:
    """``%v`` of a []string: ``[a b]``."""
    return "[" + " ".join(items) + "]"


def go_duration(nanoseconds: int) -> str:
    """Go's ``time.Duration.String()`` for the values a HEALTHCHECK can hold."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    value = abs(nanoseconds)
    if value < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if value >= size:
                return sign + _trim_fraction(value, size) + unit
    hours, rest = divmod(value, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    seconds = _trim_fraction(rest, 1_000_000_000) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return sign + seconds


def _trim_fraction(value: int, unit: int) -> str:
    whole, fraction = divmod(value, unit)
    if not fraction:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{fraction:0{digits}d}".rstrip("0")


def history_healthcheck(health: Healthcheck) -> str:
    """``HEALTHCHECK %q`` of BuildKit's (five-field) HealthConfig pointer."""
    parts = [
        go_quote_list(health.test),
        go_quote(go_duration(health.interval_ns)),
        go_quote(go_duration(health.timeout_ns)),
        go_quote(go_duration(health.start_period_ns)),
        _go_quote_rune(health.retries),
    ]
    return "HEALTHCHECK &{" + " ".join(parts) + "}"


def _go_quote_rune(value: int) -> str:
    """``%q`` of an int: a quoted rune literal, as Go prints it."""
    char = chr(value)
    if char == "'":
        return "'\\''"
    if char == "\\":
        return "'\\\\'"
    if char.isprintable() and value != 0:
        return f"'{char}'"
    if value < 0x80:
        named = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}
        return "'" + named.get(value, f"\\x{value:02x}") + "'"
    return f"'\\u{value:04x}'"


def history_expose(ports: Sequence[str]) -> str:
    """``EXPOSE %v`` of a Go map[nat.Port]struct{} (keys sorted as fmt sorts them)."""
    return "EXPOSE map[" + " ".join(f"{port}:{{}}" for port in sorted(set(ports))) + "]"
