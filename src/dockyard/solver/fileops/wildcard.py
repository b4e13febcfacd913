"""Go ``filepath.Match`` wildcards, as BuildKit uses them for COPY/ADD sources.

``*`` matches any run of characters except ``/``, ``?`` one character except ``/``,
``[...]`` a character class (``[^...]`` negated, ranges ``a-z``, ``\\`` escapes) and
``\\c`` the character ``c``. A malformed pattern matches nothing (BuildKit ignores
``filepath.ErrBadPattern`` when it resolves wildcards).
"""

from __future__ import annotations

import re
from functools import lru_cache


class BadPattern(ValueError):
    """The pattern is not valid Go ``filepath.Match`` syntax."""


def contains_wildcards(name: str) -> bool:
    """True if ``name`` has an unescaped ``*``, ``?`` or ``[``."""
    index = 0
    while index < len(name):
        char = name[index]
        if char == "\\":
            index += 2
            continue
        if char in "*?[":
            return True
        index += 1
    return False


def split_wildcards(path: str) -> tuple[str, str]:
    """Split ``path`` at the first component with a wildcard: (fixed prefix, pattern).

    ``"src/*.js"`` -> ``("src", "*.js")``; ``"a/b"`` -> ``("a/b", "")``. Both halves are
    relative, ``/``-separated and cleaned of empty components.
    """
    fixed: list[str] = []
    pattern: list[str] = []
    for part in path.split("/"):
        if not part or part == ".":
            continue
        if pattern or contains_wildcards(part):
            pattern.append(part)
        else:
            fixed.append(part)
    return "/".join(fixed), "/".join(pattern)


def _class_to_regex(pattern: str, start: int) -> tuple[str, int]:
    """Translate the class starting after ``[`` at ``start``; returns (regex, next index)."""
    index = start
    negated = index < len(pattern) and pattern[index] == "^"
    if negated:
        index += 1
    parts: list[str] = []
    first = True
    while True:
        if index >= len(pattern):
            raise BadPattern(pattern)
        char = pattern[index]
        if char == "]" and not first:
            index += 1
            break
        first = False
        low, index = _class_char(pattern, index)
        high = low
        if index < len(pattern) and pattern[index] == "-":
            high, index = _class_char(pattern, index + 1)
            if high < low:
                raise BadPattern(pattern)
        parts.append(re.escape(low) if low == high else f"{re.escape(low)}-{re.escape(high)}")
    body = "".join(parts)
    return (f"[^{body}]" if negated else f"[{body}]"), index


def _class_char(pattern: str, index: int) -> tuple[str, int]:
    if index >= len(pattern):
        raise BadPattern(pattern)
    char = pattern[index]
    if char in "-]":
        raise BadPattern(pattern)
    if char == "\\":
        index += 1
        if index >= len(pattern):
            raise BadPattern(pattern)
        char = pattern[index]
    return char, index + 1


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The regular expression equivalent to a Go ``filepath.Match`` pattern."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            out.append("[^/]*")
            index += 1
        elif char == "?":
            out.append("[^/]")
            index += 1
        elif char == "[":
            regex, index = _class_to_regex(pattern, index + 1)
            out.append(regex)
        elif char == "\\":
            if index + 1 >= len(pattern):
                raise BadPattern(pattern)
            out.append(re.escape(pattern[index + 1]))
            index += 2
        else:
            out.append(re.escape(char))
            index += 1
    return re.compile("".join(out), re.DOTALL)


def match(pattern: str, name: str) -> bool:
    """Go ``filepath.Match(pattern, name)`` on ``/``-separated paths; bad patterns -> False."""
    try:
        return compile_pattern(pattern).fullmatch(name) is not None
    except BadPattern:
        return False


def pattern_depth(pattern: str) -> int | None:
    """How many path components a name matching ``pattern`` has, if that is fixed.

    A character class may match ``/``, so patterns with one give ``None`` (unknown).
    """
    if "[" in pattern:
        return None
    return pattern.count("/") + 1
