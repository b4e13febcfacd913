"""Every row of dockerignore/cases.tsv (format: tests/data/conformance/README.md, §6)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.dockerfile.ignore import IgnoreRules
from dockyard.errors import IgnoreFileError

CASES = Path("dockerignore/cases.tsv")
_COLLECT_FROM = Path(
    os.environ.get(
        "DOCKYARD_CONFORMANCE", Path(__file__).resolve().parents[1] / "data" / "conformance"
    )
)
HEADER = ["pattern", "path", "expected", "api", "source"]


def _rows(root: Path) -> list[list[str]]:
    lines = (root / CASES).read_bytes().decode("utf-8").split("\n")
    assert lines[0].split("\t") == HEADER
    return [line.split("\t") for line in lines[1:] if line]


def _row_numbers() -> list[int]:
    try:
        return list(range(2, len(_rows(_COLLECT_FROM)) + 2))
    except OSError:
        return [0]  # fails in the test, with the fixture's message


def test_row_count_matches_the_corpus_readme(conformance_dir: Path) -> None:
    rows = _rows(conformance_dir)
    assert len(rows) == 197
    assert sorted({row[2] for row in rows}) == ["error", "match", "nomatch"]


def _excluded(patterns: list[str], path: str, api: str) -> bool:
    if api == "dockerignore":
        return IgnoreRules.parse("\n".join(patterns)).matches(path)
    assert api in ("MatchesOrParentMatches", "Matches"), api
    # The README: every "Matches" row gives the same answer with MatchesOrParentMatches.
    return IgnoreRules.from_patterns(patterns).matches(path)


@pytest.mark.parametrize("row_number", _row_numbers())
def test_case_row(conformance_dir: Path, row_number: int) -> None:
    row = _rows(conformance_dir)[row_number - 2]
    assert len(row) == len(HEADER), f"malformed row {row!r}"
    pattern_field, path, expected, api, _source = row
    patterns = pattern_field.split(";")
    if expected == "error":
        with pytest.raises(IgnoreFileError):
            _excluded(patterns, path, api)
    else:
        assert _excluded(patterns, path, api) == (expected == "match"), row
