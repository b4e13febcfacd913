"""The Dockerfile parser: text -> ``ParsedDockerfile`` (nodes with line ranges).

It follows BuildKit's ``parser.Parse`` rule for rule: physical lines are joined into
logical lines (escape-token continuations, comments and blank lines inside
continuations skipped), parser directives are read from the top, each logical line
becomes a ``Node`` (see ``line_parsers``), and RUN/COPY/ADD lines consume the bodies
of their heredocs.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager

from dockyard.dockerfile.directives import DirectiveError, DirectiveParser
from dockyard.dockerfile.gotext import go_trim_left_space, go_trim_space
from dockyard.dockerfile.heredoc import heredocs_from_line
from dockyard.dockerfile.line_parsers import ARGUMENT_PARSERS, LineError, split_command
from dockyard.dockerfile.nodes import Heredoc, Node, ParsedDockerfile, ParseWarning, new_node
from dockyard.errors import DockerfileError
from dockyard.location import SourceLocation

MAX_LINE_BYTES = 65535
# Last characters of a line that may continue it: the escape token and trailing blanks.
_CONTINUATION_TAIL = frozenset(" \t\\`")
_HEREDOC_KEYWORDS = frozenset({"add", "copy", "run"})
# A line that may exceed the limit in UTF-8 (4 bytes per character at most).
_LONG_LINE = re.compile(f"[^\n]{{{MAX_LINE_BYTES // 4},}}")


def parse(text: str | bytes, filename: str = "Dockerfile") -> ParsedDockerfile:
    """Parse a whole Dockerfile. Raises DockerfileError where BuildKit's parser fails."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    with gc_paused():
        return _Parser(text, filename).run()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building the (acyclic) tree.

    Parsing allocates tens of thousands of small objects, which triggers collections
    that find nothing to free; pausing them saves about a tenth of the time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _physical_lines(text: str) -> list[str]:
    """Lines split on ``\\n`` only, each keeping its line ending."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    return lines


def _trim_newline(line: str) -> str:
    return line.rstrip("\r\n")


def trim_continuation(line: str, escape: str) -> tuple[str, bool]:
    """(line without its continuation escape, whether the logical line ends here)."""
    stripped = line.rstrip(" \t")
    if stripped.endswith(escape) and (len(stripped) == 1 or stripped[-2] != escape):
        return stripped[:-1], False
    return line, True


class _Parser:
    def __init__(self, text: str, filename: str) -> None:
        self.filename = filename
        self.lines = _physical_lines(text)
        self.pos = 0  # number of physical lines consumed = current 1-based line
        self.escape = "\\"
        self.directives = DirectiveParser()
        self.warnings: list[ParseWarning] = []
        if len(text) > MAX_LINE_BYTES:
            self._check_line_lengths(text)

    def error(self, what: str, start: int, end: int, hint: str | None = None) -> DockerfileError:
        start = max(start, 1)
        return DockerfileError(what, SourceLocation(self.filename, start, max(end, start)), hint)

    def _check_line_lengths(self, text: str) -> None:
        if _LONG_LINE.search(text) is None:
            return
        for number, line in enumerate(self.lines, 1):
            if (
                len(line) > MAX_LINE_BYTES // 4
                and len(_trim_newline(line).encode("utf-8", "surrogateescape")) > MAX_LINE_BYTES
            ):
                raise self.error(
                    f"dockerfile line greater than max allowed size of {MAX_LINE_BYTES}",
                    number,
                    number,
                    "split the line with line continuations",
                )

    def run(self) -> ParsedDockerfile:
        nodes: list[Node] = []
        comments: list[str] = []
        lines = self.lines
        count = len(lines)
        warnings = self.warnings
        in_directives = True
        # self.pos is the number of physical lines consumed (= the current 1-based line).
        while self.pos < count:
            raw = lines[self.pos]
            self.pos += 1
            token = go_trim_left_space(raw.rstrip("\r\n"))
            if not token:
                if in_directives:  # a blank line ends the directive section
                    in_directives = self._directive(token, comments)
                continue
            if token[0] == "#":
                comment = go_trim_space(raw[1:])
                if comment:
                    comments.append(comment)
                else:
                    comments = []
                if in_directives:
                    in_directives = self._directive(token, comments)
                continue
            if in_directives:
                in_directives = self._directive(token, comments)
            start_line = self.pos
            line = token
            if token[-1] in _CONTINUATION_TAIL:
                line, end_of_line = trim_continuation(token, self.escape)
                if not end_of_line:
                    line = self._continue(line)
            try:
                node = _node_from_line(
                    line, self.escape, start_line, self.pos, warnings, tuple(comments)
                )
            except LineError as error:
                raise self.error(error.what, start_line, self.pos, error.hint) from None
            if "<<" in line and _can_contain_heredoc(node):
                node = self._read_heredocs(node, line, start_line)
            nodes.append(node)
            if comments:
                comments = []
        if not nodes:
            raise self.error(
                "file with no instructions",
                len(lines),
                len(lines),
                "a Dockerfile needs at least a FROM instruction",
            )
        return ParsedDockerfile(
            filename=self.filename,
            nodes=tuple(nodes),
            directives=tuple(self.directives.found),
            escape=self.escape,
            warnings=tuple(self.warnings),
        )

    def _directive(self, token: str, comments: list[str]) -> bool:
        """Handle a line of the directive section; False once the section is over."""
        try:
            directive = self.directives.parse_line(token, self.pos)
        except DirectiveError as error:
            raise self.error(error.what, self.pos, self.pos, error.hint) from None
        if directive is None:
            return not self.directives.done
        if comments:
            comments.pop()  # a directive is not a comment of the next instruction
        if directive.name == "escape":
            self.escape = directive.value
        return True

    def _continue(self, line: str) -> str:
        """Append continuation lines until the logical line ends."""
        end_of_line = False
        parts = [line]
        has_empty_line = False
        lines = self.lines
        while not end_of_line and self.pos < len(lines):
            raw = lines[self.pos]
            self.pos += 1
            text = _trim_newline(raw)
            stripped = go_trim_left_space(text)
            if stripped.startswith("#"):
                continue
            if not stripped:
                has_empty_line = True
                continue
            text, end_of_line = trim_continuation(text, self.escape)
            parts.append(text)
        joined = "".join(parts)
        if has_empty_line:
            self.warnings.append(
                ParseWarning(f"Empty continuation line found in: {joined}", self.pos)
            )
        return joined

    def _read_heredocs(self, node: Node, line: str, start_line: int) -> Node:
        heredocs: list[Heredoc] = []
        lines = self.lines
        for heredoc in heredocs_from_line(line):
            content: list[str] = []
            terminated = False
            while self.pos < len(lines):
                raw = lines[self.pos]
                self.pos += 1
                candidate = _trim_newline(raw)
                if heredoc.chomp:
                    candidate = candidate.lstrip("\t")
                if candidate == heredoc.name:
                    terminated = True
                    break
                content.append(raw)
            if not terminated:
                raise self.error(
                    "unterminated heredoc",
                    start_line,
                    self.pos,
                    f"end the here-document with a line containing only {heredoc.name}",
                )
            heredocs.append(
                Heredoc(heredoc.name, "".join(content), heredoc.expand, heredoc.chomp, heredoc.fd)
            )
        child = node.child
        if child is not None:
            child = _with_end(child, self.pos, ())
        return Node(
            keyword=node.keyword,
            flags=node.flags,
            args=node.args,
            original=node.original,
            start_line=node.start_line,
            end_line=self.pos,
            child=child,
            is_json=node.is_json,
            heredocs=tuple(heredocs),
            comments=node.comments,
        )


def _can_contain_heredoc(node: Node) -> bool:
    if node.keyword == "onbuild" and node.child is not None:
        node = node.child
    return node.keyword in _HEREDOC_KEYWORDS and not node.is_json


def _with_end(node: Node, end_line: int, comments: tuple[str, ...]) -> Node:
    child = node.child
    if child is not None:
        child = _with_end(child, end_line, ())
    return Node(
        keyword=node.keyword,
        flags=node.flags,
        args=node.args,
        original=node.original,
        start_line=node.start_line,
        end_line=end_line,
        child=child,
        is_json=node.is_json,
        heredocs=node.heredocs,
        comments=comments,
    )


def _node_from_line(
    line: str,
    escape: str,
    start_line: int,
    end_line: int,
    warnings: list[ParseWarning] | None = None,
    comments: tuple[str, ...] = (),
) -> Node:
    _, keyword, flags, rest = split_command(line)
    if keyword == "onbuild":
        child = _node_from_line(rest, escape, start_line, end_line, warnings) if rest else None
        return new_node(
            keyword, tuple(flags), (), line, start_line, end_line, child=child, comments=comments
        )
    line_parser = ARGUMENT_PARSERS.get(keyword)
    if line_parser is None:
        # BuildKit's parser keeps unknown instructions; the instruction layer rejects them.
        return new_node(keyword, tuple(flags), ("",), line, start_line, end_line, comments=comments)
    args, is_json, json_error = line_parser(rest, escape)
    if json_error is not None and warnings is not None:
        warnings.append(
            ParseWarning(
                f"{keyword.upper()} arguments start with '[' but are not a JSON array of strings"
                f" ({json_error}); they are used in shell form",
                start_line,
            )
        )
    return new_node(
        keyword,
        tuple(flags),
        args,
        line,
        start_line,
        end_line,
        is_json=is_json,
        comments=comments,
    )


def node_from_line(line: str, escape: str = "\\", line_number: int = 1) -> Node:
    """Parse one logical line on its own (used for ONBUILD triggers and tests)."""
    try:
        return _node_from_line(line, escape, line_number, line_number)
    except LineError as error:
        raise DockerfileError(error.what, None, error.hint) from None
