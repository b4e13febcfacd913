"""RUN heredoc command lines, EXPOSE keys, STOPSIGNAL validation."""

from __future__ import annotations

import pytest

from dockyard.dockerfile.commands import Run
from dockyard.dockerfile.instructions import parse_instruction
from dockyard.dockerfile.parser import parse
from dockyard.dockerfile.semantics import (
    RunCommandLine,
    exposed_ports,
    parse_signal,
    run_command_line,
)
from dockyard.errors import DockerfileError
from dockyard.location import SourceLocation

AT = SourceLocation("Dockerfile", 1, 1)


def run(text: str) -> Run:
    instruction = parse_instruction(parse(f"FROM a\n{text}").nodes[1])
    assert isinstance(instruction, Run)
    return instruction


def test_plain_run() -> None:
    assert run_command_line(run("RUN echo hi\n")) == RunCommandLine(("echo hi",), True)
    assert run_command_line(run('RUN ["a", "b"]\n')) == RunCommandLine(("a", "b"), False)


def test_single_heredoc_runs_its_body_in_the_shell() -> None:
    line = run_command_line(run("RUN <<-EOF\n\techo one\n\techo two\nEOF\n"))
    assert line == RunCommandLine(("echo one\necho two\n",), True)


def test_single_heredoc_with_shebang_runs_as_a_file() -> None:
    line = run_command_line(run("RUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n"))
    assert line == RunCommandLine(
        ("/dev/pipes/EOF",), False, ("EOF", "#!/usr/bin/env python3\nprint(1)\n")
    )


def test_heredoc_inside_a_command_is_given_to_the_shell() -> None:
    line = run_command_line(run("RUN cat <<EOF > /x\nhello\nEOF\n"))
    assert line == RunCommandLine(("cat <<EOF > /x\nhello\nEOF",), True)


@pytest.mark.parametrize(
    ("ports", "keys"),
    [
        (["80"], ("80/tcp",)),
        (["53/UDP", "8000-8002/tcp"], ("53/udp", "8000/tcp", "8001/tcp", "8002/tcp")),
        (["9000/sctp"], ("9000/sctp",)),
    ],
)
def test_exposed_ports(ports: list[str], keys: tuple[str, ...]) -> None:
    assert exposed_ports(ports, AT) == keys


@pytest.mark.parametrize("port", ["http", "80/icmp", "90-80", "99999", ""])
def test_bad_ports(port: str) -> None:
    with pytest.raises(DockerfileError):
        exposed_ports([port], AT)


@pytest.mark.parametrize("signal", ["SIGTERM", "term", "KILL", "9", "SIGRTMIN+3"])
def test_valid_signals(signal: str) -> None:
    assert parse_signal(signal, AT) == signal


@pytest.mark.parametrize("signal", ["SIGNOPE", "0", "", "-1"])
def test_invalid_signals(signal: str) -> None:
    with pytest.raises(DockerfileError, match="Invalid signal"):
        parse_signal(signal, AT)
