"""Go's text conventions that BuildKit's output depends on.

BuildKit splits on ``unicode.IsSpace`` (not Python's ``str.isspace``, which also
counts U+001C..U+001F) and prints its AST with ``strconv.Quote``.
"""

from __future__ import annotations

# unicode.IsSpace: the White_Space property.
GO_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
GO_SPACE_STR = "".join(sorted(GO_SPACE))

_SHORT_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
}


def go_trim_space(text: str) -> str:
    """strings.TrimSpace."""
    # str.strip with non-ASCII characters to strip is slow: skip it when it has nothing to do.
    if not text or (text[0] not in GO_SPACE and text[-1] not in GO_SPACE):
        return text
    return text.strip(GO_SPACE_STR)


def go_trim_left_space(text: str) -> str:
    """strings.TrimLeftFunc(s, unicode.IsSpace)."""
    if not text or text[0] not in GO_SPACE:
        return text
    return text.lstrip(GO_SPACE_STR)


def go_quote(text: str) -> str:
    """strconv.Quote. Text decoded with ``surrogateescape`` keeps its invalid bytes."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    out = ['"']
    for char in text:
        short = _SHORT_ESCAPES.get(char)
        if short is not None:
            out.append(short)
            continue
        code = ord(char)
        if char.isprintable():
            out.append(char)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif 0xDC80 <= code <= 0xDCFF:  # an undecodable byte (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 micro sign
    "μs": 1_000,  # U+03BC Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}


def parse_go_duration(text: str) -> int:
    """time.ParseDuration, in nanoseconds ("1h30m", "1.5s", "300ms", "0"). ValueError if bad."""
    original = text
    sign = 1
    if text[:1] in "+-" and text:
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text == "0":
        return 0
    if not text:
        raise ValueError(f"invalid duration {original!r}")
    total = 0
    pos = 0
    while pos < len(text):
        start = pos
        while pos < len(text) and text[pos].isascii() and text[pos].isdigit():
            pos += 1
        whole = text[start:pos]
        fraction = ""
        if pos < len(text) and text[pos] == ".":
            pos += 1
            frac_start = pos
            while pos < len(text) and text[pos].isascii() and text[pos].isdigit():
                pos += 1
            fraction = text[frac_start:pos]
        if not whole and not fraction:
            raise ValueError(f"invalid duration {original!r}")
        unit_start = pos
        while pos < len(text) and not (
            text[pos] == "." or (text[pos].isascii() and text[pos].isdigit())
        ):
            pos += 1
        unit = text[unit_start:pos]
        if not unit:
            raise ValueError(f"missing unit in duration {original!r}")
        scale = _DURATION_UNITS.get(unit)
        if scale is None:
            raise ValueError(f"unknown unit {unit!r} in duration {original!r}")
        value = int(whole or "0") * scale
        if fraction:
            value += int(fraction) * scale // 10 ** len(fraction)
        total += value
    if total > 2**63 - 1:
        raise ValueError(f"invalid duration {original!r}")
    return sign * total
