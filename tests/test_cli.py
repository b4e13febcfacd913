"""The CLI front door: overview, version, unknown commands, clean errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


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


def test_build_context_errors_say_what_is_wrong(tmp_path: Path) -> None:
    missing = dockyard("build", "-t", "x", str(tmp_path / "nothing"))
    assert missing.returncode == 2
    assert "not found" in missing.stderr and "Traceback" not in missing.stderr
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM scratch\n")
    a_file = dockyard("build", "-t", "x", str(dockerfile))
    assert a_file.returncode == 2
    assert "context must be a directory" in a_file.stderr
    assert "Traceback" not in a_file.stderr
