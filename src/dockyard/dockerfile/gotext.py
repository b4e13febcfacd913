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
    return text.strip(GO_SPACE_STR)


def go_trim_left_space(text: str) -> str:
    """strings.TrimLeftFunc(s, unicode.IsSpace)."""
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
