"""BuildKit's shell-lexer conformance files: every Linux line of envVarTest, every line
of wordsTest (formats in tests/data/conformance/README.md, sections 4 and 5)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.dockerfile.shell import ShellLexer
from dockyard.errors import DockerfileError

SHELL_DATA = Path("buildkit/frontend/dockerfile/shell")
# Collection needs the case list before fixtures exist; the tests themselves read the
# data through the conformance_dir fixture.
_COLLECT_FROM = Path(
    os.environ.get(
        "DOCKYARD_CONFORMANCE", Path(__file__).resolve().parents[1] / "data" / "conformance"
    )
)
# Go's strings.TrimSpace set (unicode.IsSpace).
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + ("\u2028\u2029\u202f\u205f\u3000")
)
ENV_VAR_TEST_ENV = {"PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "NULL": ""}


def _lines(name: str, root: Path) -> list[str]:
    # bufio.Scanner lines: split on \n only, a trailing \r dropped.
    text = (root / SHELL_DATA / name).read_bytes().decode("utf-8")
    return [line.removesuffix("\r") for line in text.split("\n")]


def _env_var_case(line: str) -> tuple[str, str, str] | None:
    """(platform, input, expected) of one envVarTest line, None for comments and blanks."""
    if line.startswith("#") or not line.strip(_GO_SPACE):
        return None
    fields = line.strip(_GO_SPACE).split("|")
    assert len(fields) == 3, f"bad envVarTest line {line!r}"
    platform, source, expected = (field.strip(_GO_SPACE) for field in fields)
    assert platform in ("A", "U", "W"), f"bad platform tag in {line!r}"
    return platform, source, expected


def _env_var_linenos() -> list[int]:
    try:
        lines = _lines("envVarTest", _COLLECT_FROM)
    except OSError:
        return [0]  # fails in the test, with the fixture's message
    found = []
    for number, line in enumerate(lines, 1):
        case = _env_var_case(line)
        if case is not None and case[0] in ("A", "U"):
            found.append(number)
    return found


def _words_linenos() -> list[int]:
    try:
        lines = _lines("wordsTest", _COLLECT_FROM)
    except OSError:
        return [0]
    return [
        number
        for number, line in enumerate(lines, 1)
        if line and not line.startswith("#") and not line.startswith("ENV ")
    ]


def test_case_counts_match_the_corpus_readme(conformance_dir: Path) -> None:
    assert len(_env_var_linenos()) == 228
    assert len(_words_linenos()) == 24


@pytest.mark.parametrize("lineno", _env_var_linenos())
def test_env_var_line(conformance_dir: Path, lineno: int) -> None:
    case = _env_var_case(_lines("envVarTest", conformance_dir)[lineno - 1])
    assert case is not None
    _, source, expected = case
    lexer = ShellLexer("\\")
    if expected == "error":
        with pytest.raises(DockerfileError):
            lexer.expand_word(source, ENV_VAR_TEST_ENV)
    else:
        assert lexer.expand_word(source, ENV_VAR_TEST_ENV) == expected
        assert lexer.expand(source, ENV_VAR_TEST_ENV).value == expected


@pytest.mark.parametrize("lineno", _words_linenos())
def test_words_line(conformance_dir: Path, lineno: int) -> None:
    lines = _lines("wordsTest", conformance_dir)
    env: dict[str, str] = {}
    for line in lines[: lineno - 1]:
        if line.startswith("ENV "):
            name, _, value = line[3:].lstrip(" ").partition("=")
            env[name] = value
    left, bar, right = lines[lineno - 1].partition("|")
    assert bar and "|" not in right, "wordsTest lines have exactly one |"
    source = left.strip(_GO_SPACE)
    expected = right.lstrip(" ").split(",")
    lexer = ShellLexer("\\")
    if expected == ["error"]:
        with pytest.raises(DockerfileError):
            lexer.expand_words(source, env)
    else:
        assert lexer.expand_words(source, env) == expected
        assert list(lexer.expand(source, env).words) == expected
