"""The parse tree of a Dockerfile: one ``Node`` per instruction, with its line range.

This mirrors BuildKit's ``parser.Node`` without its linked list: ``args`` is the
argument chain (``ENV``/``LABEL`` give key, value, separator triples), ``child`` is
the trigger of an ``ONBUILD``.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.location import SourceLocation


@dataclass(frozen=True)
class Heredoc:
    """A here-document attached to a RUN, COPY or ADD line (``<<EOF`` ... ``EOF``)."""

    name: str
    content: str
    expand: bool  # False when the delimiter was quoted: no variable expansion
    chomp: bool  # ``<<-``: leading tabs are removed from the content
    fd: int | None = None  # ``3<<EOF``

    @property
    def text(self) -> str:
        """The content as the instruction uses it (leading tabs removed for ``<<-``)."""
        return chomp_tabs(self.content) if self.chomp else self.content


def chomp_tabs(content: str) -> str:
    """Remove the leading tabs of every line (BuildKit's ChompHeredocContent)."""
    return "\n".join(line.lstrip("\t") for line in content.split("\n"))


@dataclass(frozen=True)
class Node:
    """One instruction as parsed, before any interpretation."""

    keyword: str  # lower-case: "run", "from", or an unknown word
    flags: tuple[str, ...]  # the leading ``--name=value`` words, quotes removed
    args: tuple[str, ...]  # BuildKit's argument chain
    original: str  # the logical line (continuations joined)
    start_line: int
    end_line: int
    child: Node | None = None  # the trigger of ONBUILD
    is_json: bool = False  # exec form: args came from a JSON array
    heredocs: tuple[Heredoc, ...] = ()
    comments: tuple[str, ...] = ()  # the comment lines right before the instruction

    def location(self, filename: str = "Dockerfile") -> SourceLocation:
        return SourceLocation(filename, self.start_line, self.end_line)

    @property
    def source_keyword(self) -> str:
        """The keyword as written in the source (``RUNN``, ``From``)."""
        parts = self.original.split(None, 1)
        return parts[0] if parts else self.keyword


def new_node(
    keyword: str,
    flags: tuple[str, ...],
    args: tuple[str, ...],
    original: str,
    start_line: int,
    end_line: int,
    child: Node | None = None,
    is_json: bool = False,
    heredocs: tuple[Heredoc, ...] = (),
    comments: tuple[str, ...] = (),
) -> Node:
    """``Node(...)`` for the parser's inner loop.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``;
    filling ``__dict__`` directly gives the same object three times faster, which
    matters for Dockerfiles of thousands of lines.
    """
    node = _new_object(Node)
    node.__dict__.update(
        keyword=keyword,
        flags=flags,
        args=args,
        original=original,
        start_line=start_line,
        end_line=end_line,
        child=child,
        is_json=is_json,
        heredocs=heredocs,
        comments=comments,
    )
    return node


_new_object = object.__new__


@dataclass(frozen=True)
class Directive:
    """A parser directive from the top of the file: ``# syntax=``, ``# escape=``, ``# check=``."""

    name: str  # lower-case
    value: str
    line: int


@dataclass(frozen=True)
class ParseWarning:
    """Something BuildKit accepts but that is probably a mistake."""

    message: str
    line: int


@dataclass(frozen=True)
class ParsedDockerfile:
    filename: str
    nodes: tuple[Node, ...]
    directives: tuple[Directive, ...]
    escape: str
    warnings: tuple[ParseWarning, ...]

    @property
    def start_line(self) -> int:
        return self.nodes[0].start_line

    @property
    def end_line(self) -> int:
        return self.nodes[-1].end_line

    def directive(self, name: str) -> str | None:
        for directive in self.directives:
            if directive.name == name:
                return directive.value
        return None

    @property
    def syntax(self) -> str | None:
        return self.directive("syntax")

    @property
    def check(self) -> str | None:
        return self.directive("check")
