"""The patterns of ``${V#p}``, ``${V%p}`` and ``${V/p/r}`` as BuildKit evaluates them.

BuildKit turns a shell pattern into a Go regular expression (``*`` and ``?`` only, no
brackets), finds a shortest suffix by reversing both the value and the pattern, and
replaces with Go's ``Regexp.ReplaceAllString``, whose ``$`` templates and empty-match
rule differ from Python's ``re.sub``. Functions raise ValueError for invalid patterns.
"""

from __future__ import annotations

import re
from functools import lru_cache

_BOM = "\ufeff"


@lru_cache(maxsize=512)
def _compile_pattern(pattern: str, greedy: bool, anchored: bool) -> re.Pattern[str] | str:
    """BuildKit's convertShellPatternToRegex: ``*`` and ``?`` are wildcards, ``\\``
    escapes ``*``, ``?`` and ``\\``, and is dropped before ``}`` and ``/``. Returns the
    compiled expression, or the reason the pattern is invalid."""
    pattern = pattern.removeprefix(_BOM)
    out = ["^"] if anchored else []
    star = ".*" if greedy else ".*?"
    index, length = 0, len(pattern)
    while index < length:
        char = pattern[index]
        index += 1
        if char == "*":
            out.append(star)
        elif char == "?":
            out.append(".")
        elif char == "\\":
            if index < length and pattern[index] in "}/":
                continue
            if index >= length or pattern[index] not in "*?\\":
                escaped = pattern[index] if index < length else ""
                return f"invalid escape '\\{escaped}'"
            out.append("\\" + pattern[index])
            index += 1
        else:
            out.append(re.escape(char))
    return re.compile("".join(out))


def pattern_regex(
    pattern: str, greedy: bool, anchored: bool, shown: str | None = None
) -> re.Pattern[str]:
    """The compiled pattern; ``shown`` is the pattern as the user wrote it, for errors.
    Raises ValueError for an invalid pattern."""
    compiled = _compile_pattern(pattern, greedy, anchored)
    if isinstance(compiled, str):
        shown = shown if shown is not None else pattern
        raise ValueError(f"invalid pattern ({shown}) in substitution: {compiled}")
    return compiled


def trim_prefix(pattern: str, value: str, greedy: bool, shown: str | None = None) -> str:
    """``${V#pattern}`` (``greedy``: ``##``)."""
    found = pattern_regex(pattern, greedy, True, shown).search(value)
    return value[found.end() :] if found else value


def _reverse_pattern(pattern: str) -> str:
    """Reverse a pattern keeping ``\\x`` escape pairs in order (``a\\*c`` -> ``c\\*a``)."""
    tokens: list[str] = []
    index, last = 0, len(pattern) - 1
    while index <= last:
        if pattern[index] == "\\" and index != last:
            tokens.append(pattern[index : index + 2])
            index += 2
        else:
            tokens.append(pattern[index])
            index += 1
    return "".join(reversed(tokens))


def trim_suffix(pattern: str, value: str, greedy: bool) -> str:
    """``${V%pattern}`` (``greedy``: ``%%``)."""
    # A regex finds the leftmost match, not the shortest rightmost one: reverse both
    # the pattern and the value and trim a prefix instead (as BuildKit does).
    return trim_prefix(_reverse_pattern(pattern), value[::-1], greedy, pattern)[::-1]


def go_replace_all(regex: re.Pattern[str], value: str, template: str) -> str:
    """Go's Regexp.ReplaceAllString: an empty match right after a match is skipped, and
    ``$0``/``${0}`` in the replacement is the match, ``$$`` a dollar."""
    out: list[str] = []
    last_end = 0
    search_at = 0
    length = len(value)
    while search_at <= length:
        found = regex.search(value, search_at)
        if found is None:
            break
        start, end = found.span()
        out.append(value[last_end:start])
        if end > last_end or start == 0:
            out.append(_go_expand(template, found.group()) if "$" in template else template)
        last_end = end
        search_at = search_at + 1 if search_at + 1 > end else end
    out.append(value[last_end:])
    return "".join(out)


def _go_expand(template: str, match: str) -> str:
    """Go's Regexp.Expand for an expression without groups: ``$0``/``${0}`` is the
    match, ``$$`` is ``$``, other well-formed references are empty, malformed ones stay."""
    out: list[str] = []
    rest = template
    while True:
        before, dollar, after = rest.partition("$")
        out.append(before)
        if not dollar:
            return "".join(out)
        if after.startswith("$"):
            out.append("$")
            rest = after[1:]
            continue
        reference = _go_reference(after)
        if reference is None:
            out.append("$")
            rest = after
            continue
        name, rest = reference
        if name == "0":
            out.append(match)


def _go_reference(text: str) -> tuple[str, str] | None:
    """Go's regexp extract(): a name of letters, digits and ``_``, optionally in braces.
    Returns (name, rest) or None when malformed."""
    braced = text.startswith("{")
    index = 1 if braced else 0
    start = index
    while index < len(text) and (
        text[index] == "_" or text[index].isalpha() or text[index].isdecimal()
    ):
        index += 1
    if index == start:
        return None
    name = text[start:index]
    if braced:
        if index >= len(text) or text[index] != "}":
            return None
        index += 1
    return name, text[index:]
