"""Property tests: arbitrary text only ever fails with DockerfileError; dumps are stable."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.dockerfile.dump import dump, render
from dockyard.dockerfile.parser import parse
from dockyard.errors import DockerfileError

TOKENS = [
    "FROM ",
    "RUN ",
    "COPY ",
    "ADD ",
    "ENV ",
    "LABEL ",
    "ARG ",
    "CMD ",
    "ONBUILD ",
    "HEALTHCHECK ",
    "EXPOSE ",
    "SHELL ",
    "VOLUME ",
    "USER ",
    "frOm ",
    "RUNN ",
    "--from=x ",
    "--mount=type=cache,target=/x ",
    "-- ",
    "--",
    "=",
    "a=b ",
    "k v",
    "[",
    "]",
    '"',
    "'",
    ",",
    "\\",
    "`",
    "$",
    "${",
    "}",
    "<<EOF",
    "<<-EOF",
    "<<'EOF'",
    "EOF",
    "\tEOF",
    "#",
    "# escape=`\n",
    "# syntax=x\n",
    "\n",
    "\r\n",
    " ",
    "\t",
    "\v",
    "\u00a0",
    "é",
    "☃",
    "\x00",
    "\ufeff",
    '["a", "b"]',
    "[1]",
    "[NaN]",
]

dockerfile_text = st.lists(
    st.one_of(st.sampled_from(TOKENS), st.text(max_size=3)), max_size=40
).map("".join)


@settings(max_examples=400, deadline=None)
@given(dockerfile_text)
def test_parse_fails_only_with_dockerfile_error(text: str) -> None:
    with contextlib.suppress(DockerfileError):
        parse(text)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_parse_bytes_fails_only_with_dockerfile_error(data: bytes) -> None:
    with contextlib.suppress(DockerfileError):
        dump(parse(data))


@settings(max_examples=400, deadline=None)
@given(dockerfile_text)
def test_parse_render_parse_is_stable(text: str) -> None:
    try:
        parsed = parse(text)
    except DockerfileError:
        return
    again = parse(render(parsed))
    assert dump(again) == dump(parsed)
    assert again.escape == parsed.escape
    assert [n.heredocs for n in again.nodes] == [n.heredocs for n in parsed.nodes]
