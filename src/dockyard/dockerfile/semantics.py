"""What some instructions mean once expanded, as BuildKit's dispatchers compute it.

- ``run_command_line``: how a RUN with heredocs is executed (dispatchRun);
- ``exposed_ports``: EXPOSE arguments as image config keys (nat.ParsePortSpecs);
- ``parse_signal``: STOPSIGNAL validation (moby's signal.ParseSignal);
- ``parse_onbuild_triggers``: a base image's ONBUILD triggers as instructions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dockyard.dockerfile.commands import From, Instruction, Maintainer, Onbuild, Run
from dockyard.dockerfile.heredoc import parse_heredoc_word
from dockyard.dockerfile.instructions import parse_instruction
from dockyard.dockerfile.parser import parse
from dockyard.errors import DockerfileError
from dockyard.location import SourceLocation

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


def parse_onbuild_triggers(
    triggers: Sequence[str], location: SourceLocation
) -> tuple[Instruction, ...]:
    """The ONBUILD triggers of a base image (its config ``OnBuild``), as instructions.

    BuildKit parses them as the lines of a Dockerfile and runs them right after FROM;
    errors point at the FROM line (``location``) and name the trigger.
    """
    if not triggers:
        return ()
    try:
        parsed = parse("\n".join(triggers) + "\n", "ONBUILD")
        instructions = tuple(parse_instruction(node, "ONBUILD") for node in parsed.nodes)
    except DockerfileError as error:
        raise DockerfileError(
            f"ONBUILD trigger of the base image: {error.what}", location, error.hint
        ) from None
    for instruction in instructions:
        if isinstance(instruction, Onbuild | From | Maintainer):
            raise DockerfileError(
                f"{instruction.keyword} isn't allowed as an ONBUILD trigger", location
            )
    return tuple(_relocated(instruction, location) for instruction in instructions)


def _relocated(instruction: Instruction, location: SourceLocation) -> Instruction:
    import dataclasses

    return dataclasses.replace(instruction, location=location)
