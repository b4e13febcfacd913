"""What BuildKit's Dockerfile frontend adds to the image config: defaults and history text.

The config itself is ``dockyard.oci.ContainerConfig`` (one writer of image configs);
a stage's history is ``dockyard.oci.History`` entries. Here are the frontend's
conventions on top: the default shell, the ``comment`` of its history entries, and
the ``created_by`` strings, which reproduce the Go ``%q``/``%v`` formatting BuildKit
prints them with.
"""

from __future__ import annotations

from collections.abc import Sequence

from dockyard.dockerfile.gotext import go_quote
from dockyard.oci.config import ContainerConfig, Healthcheck, History

HISTORY_COMMENT = "buildkit.dockerfile.v0"
DEFAULT_SHELL = ("/bin/sh", "-c")


def run_shell(config: ContainerConfig) -> tuple[str, ...]:
    """The shell that runs shell-form RUN, CMD and ENTRYPOINT."""
    return config.shell if config.shell else DEFAULT_SHELL


def step_history(created_by: str, *, layer: bool) -> History:
    """A Dockerfile step's history entry (timed when the build commits)."""
    return History(created_by=created_by, comment=HISTORY_COMMENT, empty_layer=not layer)


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
        go_quote(go_duration(health.interval)),
        go_quote(go_duration(health.timeout)),
        go_quote(go_duration(health.start_period)),
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
