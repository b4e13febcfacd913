"""BuildKit's own parser cases (tests/data/conformance/buildkit/.../parser)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.dockerfile.dump import dump
from dockyard.dockerfile.parser import parse
from dockyard.errors import DockerfileError

PARSER = Path("buildkit/frontend/dockerfile/parser")
_DATA = Path(__file__).resolve().parent.parent / "data" / "conformance" / PARSER
CASES = sorted(p.name for p in (_DATA / "testfiles").iterdir())
NEGATIVE = sorted(p.name for p in (_DATA / "testfiles-negative").iterdir())


def test_case_counts() -> None:
    assert len(CASES) == 33
    assert len(NEGATIVE) == 4


@pytest.mark.parametrize("case", CASES)
def test_dump_matches_buildkit(conformance_dir: Path, case: str) -> None:
    folder = conformance_dir / PARSER / "testfiles" / case
    parsed = parse((folder / "Dockerfile").read_bytes())
    assert dump(parsed) == (folder / "result").read_bytes().decode("utf-8")


@pytest.mark.parametrize("case", NEGATIVE)
def test_negative_case_fails(conformance_dir: Path, case: str) -> None:
    folder = conformance_dir / PARSER / "testfiles-negative" / case
    with pytest.raises(DockerfileError) as caught:
        parse((folder / "Dockerfile").read_bytes())
    assert caught.value.location is not None


def test_line_numbers(conformance_dir: Path) -> None:
    parsed = parse((conformance_dir / PARSER / "testfile-line" / "Dockerfile").read_bytes())
    assert (parsed.start_line, parsed.end_line) == (5, 31)
    assert [(n.start_line, n.end_line) for n in parsed.nodes] == [(5, 5), (11, 12), (17, 31)]
