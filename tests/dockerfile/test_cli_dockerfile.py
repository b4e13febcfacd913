"""``dockyard dockerfile parse [--dump] FILE``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PARSER = Path("buildkit/frontend/dockerfile/parser")


def dockyard(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "dockyard", *args], input=stdin, capture_output=True, check=False
    )


def test_dump_matches_buildkit_result(conformance_dir: Path) -> None:
    case = conformance_dir / PARSER / "testfiles" / "docker"
    result = dockyard("dockerfile", "parse", "--dump", str(case / "Dockerfile"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == (case / "result").read_bytes()


def test_dump_from_stdin() -> None:
    result = dockyard("dockerfile", "parse", "--dump", "-", stdin=b"FROM a\nRUN b\n")
    assert (result.returncode, result.stdout) == (0, b'(from "a")\n(run "b")\n')


def test_listing_shows_stages_and_lines(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("ARG V=1\nFROM img:$V AS build\nRUN make \\\n  all\nFROM build\n")
    result = dockyard("dockerfile", "parse", str(dockerfile), "--build-arg", "V=2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines() == [
        "stage 0: FROM img:2 AS build",
        "      3-4  RUN make   all",
        "stage 1: FROM build (target)",
    ]


def test_errors_are_clean() -> None:
    result = dockyard("dockerfile", "parse", "-", stdin=b"FROM a\nRUNN x\n")
    assert result.returncode == 1
    assert result.stderr == b"error: Dockerfile:2: unknown instruction: RUNN (did you mean RUN?)\n"


def test_warnings_go_to_stderr() -> None:
    result = dockyard("dockerfile", "parse", "--dump", "-", stdin=b"FROM a\nRUN a \\\n\n b\n")
    assert result.returncode == 0
    assert b"Empty continuation line found in: RUN a  b" in result.stderr


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = dockyard("dockerfile", "parse", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert b"cannot read" in result.stderr
    assert b"Traceback" not in result.stderr
