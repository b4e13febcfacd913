"""The Dockerfile parser: text -> ``ParsedDockerfile`` (nodes with line ranges).

It follows BuildKit's ``parser.Parse`` rule for rule: physical lines are joined into
logical lines (escape-token continuations, comments and blank lines inside
continuations skipped), parser directives are read from the top, each logical line
becomes a ``Node`` (see ``line_parsers``), and RUN/COPY/ADD lines consume the bodies
of their heredocs.
"""

from __future__ import annotations

from dockyard.dockerfile.directives import DirectiveError, DirectiveParser
from dockyard.dockerfile.gotext import go_trim_left_space, go_trim_space
from dockyard.dockerfile.heredoc import heredocs_from_line
from dockyard.dockerfile.line_parsers import ARGUMENT_PARSERS, LineError, split_command
from dockyard.dockerfile.nodes import Heredoc, Node, ParsedDockerfile, ParseWarning
from dockyard.errors import DockerfileError, SourceLocation

MAX_LINE_BYTES = 65535
_HEREDOC_KEYWORDS = frozenset({"add", "copy", "run"})


def parse(text: str | bytes, filename: str = "Dockerfile") -> ParsedDockerfile:
    """Parse a whole Dockerfile. Raises DockerfileError where BuildKit's parser fails."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    return _Parser(text, filename).run()


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
            self._check_line_lengths()

    def error(self, what: str, start: int, end: int, hint: str | None = None) -> DockerfileError:
        start = max(start, 1)
        return DockerfileError(what, SourceLocation(self.filename, start, max(end, start)), hint)

    def _check_line_lengths(self) -> None:
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
        while self.pos < len(lines):
            raw = lines[self.pos]
            self.pos += 1
            token = go_trim_left_space(_trim_newline(raw))
            is_comment = token.startswith("#")
            if is_comment:
                comment = go_trim_space(raw[1:])
                if comment:
                    comments.append(comment)
                else:
                    comments = []
            if not self.directives.done:
                try:
                    directive = self.directives.parse_line(token, self.pos)
                except DirectiveError as error:
                    raise self.error(error.what, self.pos, self.pos, error.hint) from None
                if directive is not None:
                    if comments:
                        comments.pop()
                    if directive.name == "escape":
                        self.escape = directive.value
            start_line = self.pos
            line, end_of_line = trim_continuation("" if is_comment else token, self.escape)
            if end_of_line and not line:
                continue
            line = self._continue(line, end_of_line)
            try:
                node = _node_from_line(line, self.escape, start_line, self.pos, self.warnings)
            except LineError as error:
                raise self.error(error.what, start_line, self.pos, error.hint) from None
            if "<<" in line and _can_contain_heredoc(node):
                node = self._read_heredocs(node, line, start_line)
            nodes.append(_with_end(node, self.pos, tuple(comments)))
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

    def _continue(self, line: str, end_of_line: bool) -> str:
        """Append continuation lines until the logical line ends."""
        if end_of_line:
            return line
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
        return Node(
            keyword=node.keyword,
            flags=node.flags,
            args=node.args,
            original=node.original,
            start_line=node.start_line,
            end_line=node.end_line,
            child=node.child,
            is_json=node.is_json,
            heredocs=tuple(heredocs),
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
) -> Node:
    _, keyword, flags, rest = split_command(line)
    if keyword == "onbuild":
        child = _node_from_line(rest, escape, start_line, end_line, warnings) if rest else None
        return Node(keyword, tuple(flags), (), line, start_line, end_line, child=child)
    line_parser = ARGUMENT_PARSERS.get(keyword)
    if line_parser is None:
        # BuildKit's parser keeps unknown instructions; the instruction layer rejects them.
        return Node(keyword, tuple(flags), ("",), line, start_line, end_line)
    parsed = line_parser(rest, escape)
    if parsed.json_error is not None and warnings is not None:
        warnings.append(
            ParseWarning(
                f"{keyword.upper()} arguments start with '[' but are not a JSON array of strings"
                f" ({parsed.json_error}); they are used in shell form",
                start_line,
            )
        )
    return Node(
        keyword, tuple(flags), parsed.args, line, start_line, end_line, is_json=parsed.is_json
    )


def node_from_line(line: str, escape: str = "\\", line_number: int = 1) -> Node:
    """Parse one logical line on its own (used for ONBUILD triggers and tests)."""
    try:
        return _node_from_line(line, escape, line_number, line_number)
    except LineError as error:
        raise DockerfileError(error.what, None, error.hint) from None
