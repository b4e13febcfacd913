"""What some instructions mean once expanded, as BuildKit's dispatchers compute it.

- ``run_command_line``: how a RUN with heredocs is executed (dispatchRun);
- ``exposed_ports``: EXPOSE arguments as image config keys (nat.ParsePortSpecs);
- ``parse_signal``: STOPSIGNAL validation (moby's signal.ParseSignal).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from dockyard.dockerfile.commands import Run
from dockyard.dockerfile.heredoc import parse_heredoc_word
from dockyard.errors import DockerfileError, SourceLocation

SCRIPT_DIR = "/dev/pipes"


@dataclass(frozen=True)
class RunCommandLine:
    """The command of a RUN step.

    ``args`` is run as ``SHELL + args`` when ``prepend_shell`` (shell form), else as the
    argv itself. ``script`` is a file (name, content) to mount read-only with mode 0755
    at ``/dev/pipes/<name>``: a single heredoc starting with ``#!`` runs as that file.
    """

    args: tuple[str, ...]
    prepend_shell: bool
    script: tuple[str, str] | None = None


def run_command_line(run: Run) -> RunCommandLine:
    if not run.heredocs:
        return RunCommandLine(run.command, run.shell_form)
    if len(run.command) != 1 or not run.shell_form:
        raise DockerfileError(
            f"parsing produced an invalid run command: {list(run.command)}", run.location
        )
    first = run.heredocs[0]
    if parse_heredoc_word(run.command[0]) is not None:
        data = first.text
        if first.content.startswith("#!"):
            # A script with an interpreter line runs as a file (never expanded).
            return RunCommandLine((f"{SCRIPT_DIR}/{first.name}",), False, (first.name, data))
        # The body runs through the shell, which works even for shells without heredocs.
        return RunCommandLine((data,), True)
    full = run.command[0]
    for heredoc in run.heredocs:
        full += "\n" + heredoc.content + heredoc.name
    return RunCommandLine((full,), True)


_PORT = re.compile(r"(?:(?P<ip>\[[0-9a-fA-F:.]*\]|[0-9.]*):)?(?:(?P<host>[0-9-]*):)?"
                   r"(?P<port>[0-9]+(?:-[0-9]+)?)(?:/(?P<proto>[a-zA-Z]+))?\Z")  # fmt: skip


def exposed_ports(ports: Iterable[str], location: SourceLocation) -> tuple[str, ...]:
    """EXPOSE words as config keys: "80" -> "80/tcp", "8000-8001/udp" -> two keys."""
    keys: list[str] = []
    for spec in ports:
        match = _PORT.match(spec)
        if match is None:
            raise DockerfileError(
                f"Invalid containerPort: {spec}", location, "write PORT[/PROTOCOL], e.g. 80/tcp"
            )
        proto = (match.group("proto") or "tcp").lower()
        if proto not in ("tcp", "udp", "sctp"):
            raise DockerfileError(f"invalid proto: {proto}", location, "use tcp, udp or sctp")
        start_text, _, end_text = match.group("port").partition("-")
        start = int(start_text)
        end = int(end_text) if end_text else start
        if end < start or end > 65535:
            raise DockerfileError(f"Invalid containerPort: {spec}", location)
        keys += (f"{port}/{proto}" for port in range(start, end + 1))
    return tuple(keys)


def _signal_names() -> frozenset[str]:
    import signal

    names = {s.name.removeprefix("SIG") for s in signal.Signals}
    names.update(f"RTMIN+{n}" for n in range(1, 16))
    names.update(f"RTMAX-{n}" for n in range(1, 15))
    names.update({"RTMIN", "RTMAX"})
    return frozenset(names)


def parse_signal(text: str, location: SourceLocation) -> str:
    """Validate a STOPSIGNAL value (a number or a name with or without SIG)."""
    if text.isdigit():
        if int(text) != 0:
            return text
    elif text.upper().removeprefix("SIG") in _signal_names():
        return text
    raise DockerfileError(
        f"Invalid signal: {text}", location, "use a name like SIGTERM or a number"
    )
