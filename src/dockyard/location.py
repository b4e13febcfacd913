"""Where in a Dockerfile something is (errors and the build graph point there)."""

from __future__ import annotations

from typing import NamedTuple


class SourceLocation(NamedTuple):
    """Where in a Dockerfile something is: 1-based, inclusive line range.

    (A NamedTuple rather than a dataclass: the parser makes one per instruction, and
    a dataclass would pull in ``dataclasses`` and ``inspect`` for a no-op build.)
    """

    filename: str
    start_line: int
    end_line: int

    def __str__(self) -> str:
        return f"{self.filename}:{self.start_line}"
