"""The CLI front door: overview, version, unknown commands, clean errors."""

from __future__ import annotations

import subprocess
import sys


def dockyard(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dockyard", *args], capture_output=True, text=True, check=False
    )


def test_overview_lists_commands() -> None:
    result = dockyard("--help")
    assert result.returncode == 0
    assert "build" in result.stdout and "run" in result.stdout


def test_no_arguments_is_a_usage_error() -> None:
    assert dockyard().returncode == 2


def test_version() -> None:
    result = dockyard("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("dockyard version ")


def test_unknown_command_is_a_clean_usage_error() -> None:
    result = dockyard("buidl")
    assert result.returncode == 2
    assert "unknown command: 'buidl'" in result.stderr
    assert "Traceback" not in result.stderr
