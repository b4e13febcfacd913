"""Go's path and regexp details that .dockerignore matching depends on.

moby/patternmatcher validates a pattern with Go's ``filepath.Match`` and then matches
with a Go regular expression built from it; the user's ``[...]`` classes and ``\\``
escapes pass into that expression verbatim. To give the same answers, this module
checks pattern syntax the way ``filepath.Match`` does and translates the Go expression
into Python's ``re`` dialect with Go's meaning (RE2 classes, escapes, and negated classes
that never match a newline). Every function raises ``ValueError`` for input that Go
rejects.
"""

from __future__ import annotations

import re

# Go's unicode.IsSpace, for strings.TrimSpace.
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
GO_SPACE += "\u2028\u2029\u202f\u205f\u3000"

_MAX_RUNE = 0x10FFFF
_Ranges = list[tuple[int, int]]


def go_clean(path: str) -> str:
    """Go's path.Clean: the shortest equivalent slash path."""
    if not path:
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    joined = "/".join(parts)
    if rooted:
        return "/" + joined
    return joined or "."


def go_dir(path: str) -> str:
    """Go's filepath.Dir on a slash path."""
    return go_clean(path[: path.rfind("/") + 1])


# --- filepath.Match syntax ------------------------------------------------------------


def check_match_syntax(pattern: str) -> None:
    """Raise ValueError where Go's filepath.Match reports ErrBadPattern.

    Match scans the whole pattern chunk by chunk (a chunk ends at a ``*`` outside
    brackets) and checks each chunk whatever the name, so the syntax alone decides.
    """
    rest = pattern
    while rest:
        rest = rest.lstrip("*")
        in_range = False
        index = 0
        while index < len(rest):
            char = rest[index]
            if char == "\\":
                if index + 1 < len(rest):
                    index += 1
            elif char == "[":
                in_range = True
            elif char == "]":
                in_range = False
            elif char == "*" and not in_range:
                break
            index += 1
        _check_chunk(rest[:index])
        rest = rest[index:]


def _check_chunk(chunk: str) -> None:
    index = 0
    while index < len(chunk):
        char = chunk[index]
        if char == "[":
            index += 1
            if index < len(chunk) and chunk[index] == "^":
                index += 1
            ranges = 0
            while True:
                if index < len(chunk) and chunk[index] == "]" and ranges > 0:
                    index += 1
                    break
                index = _class_char_end(chunk, index)
                if chunk[index] == "-":
                    index = _class_char_end(chunk, index + 1)
                ranges += 1
        elif char == "\\":
            if index + 1 >= len(chunk):
                raise ValueError("trailing backslash")
            index += 2
        else:
            index += 1


def _class_char_end(chunk: str, index: int) -> int:
    """Go's getEsc: where the (possibly escaped) class character at ``index`` ends;
    the class must go on after it."""
    if index >= len(chunk) or chunk[index] in "-]":
        raise ValueError("bad character class")
    if chunk[index] == "\\":
        index += 1
        if index >= len(chunk):
            raise ValueError("bad character class")
    if 0xDC80 <= ord(chunk[index]) <= 0xDCFF:  # an undecodable byte (surrogateescape)
        raise ValueError("invalid UTF-8 in character class")
    index += 1
    if index >= len(chunk):
        raise ValueError("unterminated character class")
    return index


# --- Go regexp -> Python re ----------------------------------------------------------

_DIGIT: _Ranges = [(0x30, 0x39)]
_PERL: dict[str, _Ranges] = {
    "d": _DIGIT,
    "s": [(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)],
    "w": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
}
_POSIX: dict[str, _Ranges] = {
    "alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "ascii": [(0x00, 0x7F)],
    "blank": [(0x09, 0x09), (0x20, 0x20)],
    "cntrl": [(0x00, 0x1F), (0x7F, 0x7F)],
    "digit": _DIGIT,
    "graph": [(0x21, 0x7E)],
    "lower": [(0x61, 0x7A)],
    "print": [(0x20, 0x7E)],
    "punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    "space": [(0x09, 0x0D), (0x20, 0x20)],
    "upper": [(0x41, 0x5A)],
    "word": _PERL["w"],
    "xdigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
}
_SIMPLE_ESCAPES = {"a": 7, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11}
_ASCII_WORD = "(?a:\\b)"
_ASCII_NON_WORD = "(?a:\\B)"


def _normalize(ranges: _Ranges) -> _Ranges:
    merged: _Ranges = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _complement(ranges: _Ranges) -> _Ranges:
    result: _Ranges = []
    next_low = 0
    for low, high in _normalize(ranges):
        if low > next_low:
            result.append((next_low, low - 1))
        next_low = high + 1
    if next_low <= _MAX_RUNE:
        result.append((next_low, _MAX_RUNE))
    return result


def _class_regex(ranges: _Ranges) -> str:
    ranges = _normalize(ranges)
    if not ranges:
        return "(?!)"
    parts = [
        f"\\U{low:08x}" if low == high else f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges
    ]
    return "[" + "".join(parts) + "]"


def go_regex_to_python(expression: str) -> re.Pattern[str]:
    """Compile a Go (RE2, Perl flags) expression as produced by patternmatcher."""
    out: list[str] = []
    index = 0
    length = len(expression)
    while index < length:
        char = expression[index]
        if char == "\\":
            piece, index = _top_escape(expression, index)
            out.append(piece)
        elif char == "[":
            ranges, index = _parse_class(expression, index + 1)
            out.append(_class_regex(ranges))
        elif char == "^":
            out.append("\\A")
            index += 1
        elif char == "$":
            out.append("\\Z")  # Go's $ without (?m) is the very end, never before a \n
            index += 1
        elif char in "().*?|":
            out.append(char)
            index += 1
        else:
            out.append(re.escape(char))
            index += 1
    try:
        return re.compile("".join(out))
    except re.error as error:
        raise ValueError(str(error)) from None


def _top_escape(expression: str, index: int) -> tuple[str, int]:
    """A ``\\`` escape outside a class at ``index``: (python regex, next index)."""
    if index + 1 >= len(expression):
        raise ValueError("trailing backslash at end of expression")
    letter = expression[index + 1]
    if letter == "A":
        return "\\A", index + 2
    if letter == "z":
        return "\\Z", index + 2
    if letter == "b":
        return _ASCII_WORD, index + 2
    if letter == "B":
        return _ASCII_NON_WORD, index + 2
    if letter == "Q":
        end = expression.find("\\E", index + 2)
        literal = expression[index + 2 :] if end < 0 else expression[index + 2 : end]
        return re.escape(literal), len(expression) if end < 0 else end + 2
    ranges, after = _perl_class(expression, index)
    if ranges is not None:
        return _class_regex(ranges), after
    code, after = _escape(expression, index)
    return re.escape(chr(code)), after


def _perl_class(expression: str, index: int) -> tuple[_Ranges | None, int]:
    letter = expression[index + 1] if index + 1 < len(expression) else ""
    if letter in ("p", "P"):
        raise ValueError("Unicode classes (\\p) are not supported in .dockerignore patterns")
    if letter.lower() in _PERL:
        ranges = _PERL[letter.lower()]
        return (_complement(ranges) if letter.isupper() else ranges), index + 2
    return None, index


def _escape(expression: str, index: int) -> tuple[int, int]:
    """Go's parseEscape at the ``\\`` at ``index``: (code point, next index)."""
    if index + 1 >= len(expression):
        raise ValueError("trailing backslash at end of expression")
    char = expression[index + 1]
    after = index + 2
    if ord(char) < 0x80 and not char.isalnum():
        return ord(char), after
    if char in "1234567" and not (after < len(expression) and expression[after] in "01234567"):
        raise ValueError(f"invalid escape sequence: \\{char}")
    if char in "01234567":
        end = after
        while end < len(expression) and end < after + 2 and expression[end] in "01234567":
            end += 1
        return int(expression[index + 1 : end], 8), end
    if char == "x":
        if after < len(expression) and expression[after] == "{":
            end = expression.find("}", after)
            digits = expression[after + 1 : end] if end > 0 else ""
            if not digits or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise ValueError("invalid escape sequence: \\x{")
            value = int(digits, 16)
            if value > _MAX_RUNE:
                raise ValueError("invalid escape sequence: \\x{")
            return value, end + 1
        digits = expression[after : after + 2]
        if len(digits) < 2 or any(d not in "0123456789abcdefABCDEF" for d in digits):
            raise ValueError("invalid escape sequence: \\x")
        return int(digits, 16), after + 2
    if char in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[char], after
    raise ValueError(f"invalid escape sequence: \\{char}")


def _parse_class(expression: str, index: int) -> tuple[_Ranges, int]:
    """Go's parseClass from just after ``[``: (ranges, index after ``]``)."""
    negated = index < len(expression) and expression[index] == "^"
    if negated:
        index += 1
    ranges: _Ranges = []
    first = True
    while True:
        if index >= len(expression):
            raise ValueError("missing closing ]")
        if expression[index] == "]" and not first:
            index += 1
            break
        first = False
        if expression.startswith("[:", index):
            end = expression.find(":]", index + 2)
            if end >= 0:
                name = expression[index + 2 : end]
                group = _POSIX.get(name.removeprefix("^"))
                if group is None:
                    raise ValueError(f"invalid character class range: [:{name}:]")
                ranges += _complement(group) if name.startswith("^") else group
                index = end + 2
                continue
        if expression[index] == "\\":
            perl, after = _perl_class(expression, index)
            if perl is not None:
                ranges += perl
                index = after
                continue
        low, index = _class_char(expression, index)
        high = low
        if (
            index + 1 < len(expression)
            and expression[index] == "-"
            and expression[index + 1] != "]"
        ):
            high, index = _class_char(expression, index + 1)
            if high < low:
                raise ValueError("invalid character class range")
        ranges.append((low, high))
    if negated:
        # Go's negated classes never match a newline (no ClassNL flag).
        ranges = _complement([*ranges, (0x0A, 0x0A)])
    return ranges, index


def _class_char(expression: str, index: int) -> tuple[int, int]:
    if index >= len(expression):
        raise ValueError("missing closing ]")
    if expression[index] == "\\":
        return _escape(expression, index)
    return ord(expression[index]), index + 1
