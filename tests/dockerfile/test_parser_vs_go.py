"""Differential test: dockyard's parser against BuildKit's own Go parser.

The PyPI package ``dockerfile`` wraps BuildKit's ``parser.Parse`` (cgo). Both parse
the same generated text; they must agree on failure and on every instruction's
keyword, flags, arguments, JSON form, line range and heredocs. The bindings lose
some information, so a few shapes are compared the way the bindings show them:
ENV/LABEL pairs without the separator, ONBUILD as keyword + trigger keyword + the
trigger's arguments, and no text with NUL bytes (C strings).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockyard.dockerfile.parser import parse
from dockyard.errors import DockerfileError

from .test_parser_properties import TOKENS

Shape = list[tuple[Any, ...]] | str | None


def _load_go_parser() -> ModuleType:
    """The extension module ``dockerfile``, loaded beside this test package of the same name."""
    shadowed = sys.modules.get("dockerfile")
    try:
        for entry in sys.path:
            spec = importlib.machinery.PathFinder.find_spec("dockerfile", [entry])
            origin = spec.origin if spec is not None else None
            if spec is not None and spec.loader is not None and (origin or "").endswith(".so"):
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                return module
    finally:  # loading registers the extension as "dockerfile": give the name back
        if shadowed is not None:
            sys.modules["dockerfile"] = shadowed
        else:
            sys.modules.pop("dockerfile", None)
    raise RuntimeError(
        "the PyPI package 'dockerfile' (BuildKit's Go parser) is missing: pip install -e '.[dev]'"
    )


go_dockerfile = _load_go_parser()

texts = (
    st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=3)), max_size=40)
    .map("".join)
    .filter(lambda text: "\x00" not in text)
)


def dockyard_shape(text: str) -> Shape:
    try:
        nodes = parse(text).nodes
    except DockerfileError:
        return "error"
    shape: list[tuple[Any, ...]] = []
    for node in nodes:
        command, trigger = node, None
        if node.keyword == "onbuild" and node.child is not None:
            if node.child.keyword == "onbuild":
                return None  # the bindings flatten nested triggers: not comparable
            command, trigger = node.child, node.child.keyword
        args = command.args
        if command.keyword in ("env", "label"):
            args = tuple(arg for index, arg in enumerate(args) if index % 3 != 2)
        heredocs = tuple((h.name, h.content) for h in node.heredocs)
        shape.append(
            (node.keyword, trigger, command.is_json, node.start_line, node.end_line,
             node.flags, args, heredocs)
        )  # fmt: skip
    return shape


def go_shape(text: str) -> Shape:
    try:
        commands = go_dockerfile.parse_string(text)
    except go_dockerfile.GoParseError:
        return "error"
    except UnicodeDecodeError:
        return None  # BuildKit split a character in two; the bindings cannot return it
    return [
        ((c.cmd or "").lower(), c.sub_cmd.lower() if c.sub_cmd is not None else None, c.json,
         c.start_line, c.end_line, tuple(c.flags), tuple(c.value),
         tuple((h.name, h.content) for h in c.heredocs))
        for c in commands
    ]  # fmt: skip


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(texts)
def test_generated_dockerfiles_parse_like_buildkit(text: str) -> None:
    ours, theirs = dockyard_shape(text), go_shape(text)
    if ours is None or theirs is None:
        return
    assert ours == theirs


PARSER = Path("buildkit/frontend/dockerfile/parser/testfiles")
_CASES = Path(__file__).resolve().parent.parent / "data" / "conformance" / PARSER


@pytest.mark.parametrize("case", sorted(p.name for p in _CASES.iterdir() if p.name != "json"))
def test_conformance_files_parse_like_buildkit(conformance_dir: Path, case: str) -> None:
    text = (conformance_dir / PARSER / case / "Dockerfile").read_text()
    assert dockyard_shape(text) == go_shape(text)


@pytest.mark.parametrize(
    "text",
    [
        "FROM a\nCOPY --chown=ü:ü x y\n",  # BuildKit reads flags byte by byte
        "FROM a\nHEALTHCHECK \u00a0-- CMD x\n",
        "FROM a\nRUN <<EOF <<-'END'\nx\nEOF\n\ty\n\tEND\n",
        "# escape=`\nFROM a\nRUN a `\n  b\n",
        "FROM a\nENV A=1 B=\"2 3\" C='4'\n",
    ],
)
def test_tricky_lines_parse_like_buildkit(text: str) -> None:
    assert dockyard_shape(text) == go_shape(text)
