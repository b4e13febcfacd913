"""Parser directives (``# syntax=``, ``# escape=``, ``# check=``) at the top of a Dockerfile.

Only the lines from the very top count: the first line that is not a directive (an
instruction, a blank line, an ordinary comment, an unknown key) ends the section.
"""

from __future__ import annotations

import re

from dockyard.dockerfile.gotext import go_trim_left_space
from dockyard.dockerfile.nodes import Directive

KNOWN_DIRECTIVES = frozenset({"syntax", "escape", "check"})
# Go's \s is [\t\n\f\r ] (no \v).
_DIRECTIVE = re.compile(r"([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*\Z", re.S)


class DirectiveError(Exception):
    def __init__(self, what: str, hint: str) -> None:
        super().__init__(what)
        self.what = what
        self.hint = hint


class DirectiveParser:
    """Feed it the physical lines in order; it answers which ones are directives."""

    def __init__(self) -> None:
        self.done = False
        self.found: list[Directive] = []

    def parse_line(self, line: str, line_number: int) -> Directive | None:
        if self.done:
            return None
        if not line.startswith("#"):
            self.done = True
            return None
        match = _DIRECTIVE.match(go_trim_left_space(line[1:]))
        if match is None:
            self.done = True
            return None
        name = match.group(1).lower()
        if name not in KNOWN_DIRECTIVES:
            self.done = True
            return None
        if any(seen.name == name for seen in self.found):
            raise DirectiveError(
                f"only one {name} parser directive can be used",
                f"remove the second '# {name}=' line",
            )
        directive = Directive(name, match.group(2), line_number)
        if name == "escape" and directive.value not in ("\\", "`"):
            raise DirectiveError(
                f"invalid escape token '{directive.value}' does not match ` or \\",
                "use '# escape=\\' or '# escape=`'",
            )
        self.found.append(directive)
        return directive
