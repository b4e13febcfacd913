"""Turning one logical line into a ``Node``: BuildKit's per-instruction argument shapes.

``split_command`` separates keyword, flags and arguments; the ``_parse_*`` functions
produce the argument chain of each instruction exactly as BuildKit's line parsers do
(see the conformance README: JSON vs shell form, whitespace lists, key/value triples).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from dockyard.dockerfile.gotext import GO_SPACE, go_trim_left_space, go_trim_space

# BuildKit's reWhitespace: only these split argument lists (not NBSP and friends).
_WHITESPACE = re.compile(r"[\t\v\f\r ]+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_GO_SPACE_CLASS = "".join(sorted(GO_SPACE)).replace("\\", "")
_ASCII_SPACE = frozenset("\t\n\v\f\r ")
_SPACES = re.compile(f"[{_GO_SPACE_CLASS}]*")
_GO_SPACE_RUN = re.compile(f"[{_GO_SPACE_CLASS}]+")
_FIRST_WORD = re.compile(f"[^{_GO_SPACE_CLASS}]*")
_PLAIN_WORD = re.compile(f"[^{_GO_SPACE_CLASS}'\"\\\\]*")


class LineError(Exception):
    """A line that BuildKit's parser rejects; the caller adds the location."""

    def __init__(self, what: str, hint: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.hint = hint


# (arguments, is_json, why text starting with "[" was taken as shell form)
Parsed = tuple[tuple[str, ...], bool, str | None]


def split_command(line: str) -> tuple[str, str, list[str], str]:
    """(keyword as written, lower-case keyword, flags, argument text)."""
    parts = _WHITESPACE.split(go_trim_space(line), maxsplit=1)
    keyword = parts[0]
    flags: list[str] = []
    rest = ""
    if len(parts) == 2:
        rest, flags = extract_flags(parts[1])
    return keyword, keyword.lower(), flags, go_trim_space(rest)


def extract_flags(line: str) -> tuple[str, list[str]]:
    """Take the leading ``--flag`` words; quotes are removed and ``\\`` escapes.

    BuildKit scans this part byte by byte (each byte taken as a character, and the
    bytes 0x85 and 0xA0 of multi-byte characters count as spaces), so non-ASCII text
    is scanned as its UTF-8 bytes too: a flag value keeps BuildKit's mojibake.
    """
    if not line.startswith("--") and line[:1] not in _ASCII_SPACE:
        return line, []  # the common case: no flags
    if line.isascii():
        return _extract_flags(line)
    rest, words = _extract_flags(_as_bytes(line))
    return _from_bytes(rest), words


def _as_bytes(text: str) -> str:
    """The UTF-8 bytes of ``text`` as a string of characters U+0000..U+00FF."""
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


def _from_bytes(text: str) -> str:
    return text.encode("latin-1").decode("utf-8", "surrogateescape")


def _extract_flags(line: str) -> tuple[str, list[str]]:
    words: list[str] = []
    pos, end = 0, len(line)
    while True:
        pos = _SPACES.match(line, pos).end()  # type: ignore[union-attr]
        if pos == end:
            return "", words
        if not line.startswith("--", pos):
            return line[pos:], words
        plain_end = _PLAIN_WORD.match(line, pos).end()  # type: ignore[union-attr]
        if plain_end == end or line[plain_end] in GO_SPACE:
            word = line[pos:plain_end]
            if word == "--":
                return line[plain_end:], words
            words.append(word)
            pos = plain_end
            continue
        word, blank_ok, pos = _quoted_flag_word(line, pos)
        if pos < end and word == "--":
            return line[pos:], words
        if word != "--" and (blank_ok or word):
            words.append(word)


def _quoted_flag_word(line: str, pos: int) -> tuple[str, bool, int]:
    """A flag word with quotes or backslashes: (word, had quotes, position after it)."""
    word: list[str] = []
    blank_ok = False
    quote = ""
    end = len(line)
    while pos < end:
        char = line[pos]
        if quote:
            if char == quote:
                quote = ""
                pos += 1
                continue
        elif char in GO_SPACE:
            break
        elif char in "'\"":
            quote = char
            blank_ok = True
            pos += 1
            continue
        if char == "\\":
            if pos + 1 == end:
                quote = ""
                pos += 1
                continue
            pos += 1
            char = line[pos]
        word.append(char)
        pos += 1
    return "".join(word), blank_ok, pos


_WORD_SPECIALS = {
    escape: re.compile(f"[{_GO_SPACE_CLASS}'\"{re.escape(escape)}]") for escape in ("\\", "`")
}
_IN_DOUBLE_QUOTES = {escape: re.compile(f'["{re.escape(escape)}]') for escape in ("\\", "`")}


def parse_words(rest: str, escape: str) -> list[str]:
    """BuildKit's quote-aware splitter: quotes and escapes stay in the words."""
    if escape not in rest and "'" not in rest and '"' not in rest:
        return [word for word in _GO_SPACE_RUN.split(rest) if word]
    specials = _WORD_SPECIALS[escape]
    in_double = _IN_DOUBLE_QUOTES[escape]
    words: list[str] = []
    word: list[str] = []
    blank_ok = False
    pos, end = 0, len(rest)
    while pos < end:
        match = specials.search(rest, pos)
        stop = match.start() if match else end
        if stop > pos:
            word.append(rest[pos:stop])
            pos = stop
            if pos == end:
                break
        char = rest[pos]
        if char == escape:
            if pos + 1 == end:
                break  # an escape token at the very end is dropped
            word.append(rest[pos : pos + 2])
            pos += 2
        elif char == "'":
            blank_ok = True
            close = rest.find("'", pos + 1)
            close = end if close < 0 else close + 1
            word.append(rest[pos:close])
            pos = close
        elif char == '"':
            blank_ok = True
            word.append('"')
            pos += 1
            while pos < end:
                match = in_double.search(rest, pos)
                if match is None:
                    word.append(rest[pos:])
                    pos = end
                    break
                word.append(rest[pos : match.start()])
                pos = match.start()
                if rest[pos] == '"':
                    word.append('"')
                    pos += 1
                    break
                if pos + 1 == end:
                    pos = end  # an escape token at the very end is dropped
                    break
                word.append(rest[pos : pos + 2])
                pos += 2
        else:  # whitespace ends the word
            if blank_ok or word:
                words.append("".join(word))
            word.clear()
            blank_ok = False
            pos = _SPACES.match(rest, pos).end()  # type: ignore[union-attr]
    if blank_ok or word:
        words.append("".join(word))
    return words


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _parse_json(rest: str) -> tuple[tuple[str, ...] | None, str | None]:
    """(elements, None) for a JSON array of strings, (None, why) when not JSON.

    Raises LineError for a JSON array with a non-string element (BuildKit errors).
    Like Go's json.Decoder, text after the array is ignored.
    """
    text = go_trim_left_space(rest)
    if not text.startswith("["):
        return None, None
    try:
        value, _ = _DECODER.raw_decode(text)
    except ValueError as error:
        position = getattr(error, "pos", None)
        where = f" at character {position + 1}" if isinstance(position, int) else ""
        reason = getattr(error, "msg", str(error))
        return None, f"{reason}{where}"
    if not isinstance(value, list):
        return None, "not an array"
    for element in value:
        if not isinstance(element, str):
            raise LineError(
                "when using JSON array syntax, arrays must be comprised of strings only",
                f"found {json.dumps(element)}; quote it or use the shell form",
            )
    return tuple(_SURROGATE.sub("\ufffd", s) for s in value), None


_EMPTY: Parsed = ((), False, None)


def _maybe_json(rest: str, escape: str = "\\") -> Parsed:
    """RUN, CMD, ENTRYPOINT, SHELL: JSON array of strings, else one shell-form string."""
    if rest == "":
        return _EMPTY
    if rest[0] != "[" and rest[0] not in GO_SPACE:
        return (rest,), False, None
    elements, why = _parse_json(rest)
    if elements is not None:
        return elements, True, None
    return (rest,), False, why


def _maybe_json_to_list(rest: str, escape: str = "\\") -> Parsed:
    """ADD, COPY, VOLUME: JSON array of strings, else whitespace-separated words."""
    if rest and rest[0] != "[" and rest[0] not in GO_SPACE:
        return tuple(_WHITESPACE.split(rest)), False, None
    elements, why = _parse_json(rest)
    if elements is not None:
        return elements, True, None
    return _whitespace_list(rest)[0], False, why


def _whitespace_list(rest: str, escape: str = "\\") -> Parsed:
    if rest == "":
        return _EMPTY
    return tuple(_WHITESPACE.split(rest)), False, None


def _string(rest: str, escape: str = "\\") -> Parsed:
    return ((rest,), False, None) if rest else _EMPTY


def _name_or_name_value(rest: str, escape: str) -> Parsed:
    return tuple(parse_words(rest, escape)), False, None


def _name_value(rest: str, escape: str, keyword: str) -> Parsed:
    words = parse_words(rest, escape)
    if not words:
        return _EMPTY
    if "=" not in words[0]:
        parts = _WHITESPACE.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise LineError(
                f"{keyword} must have two arguments",
                f"write {keyword} {parts[0]}=<value>",
            )
        return (parts[0], parts[1], ""), False, None
    args: list[str] = []
    for word in words:
        key, has_value, value = word.partition("=")
        if not has_value:
            raise LineError(
                f"Syntax error - can't find = in {word!r}. Must be of the form: name=value",
                f"every word of {keyword} key=value form needs '='",
            )
        args += (key, value, "=")
    return tuple(args), False, None


def _env(rest: str, escape: str) -> Parsed:
    return _name_value(rest, escape, "ENV")


def _label(rest: str, escape: str) -> Parsed:
    return _name_value(rest, escape, "LABEL")


def _health_config(rest: str, escape: str = "\\") -> Parsed:
    """HEALTHCHECK: the type word (CMD, NONE...), then CMD's arguments.

    BuildKit finds the end of the type word byte by byte (see ``extract_flags``).
    """
    text = rest if rest.isascii() else _as_bytes(rest)
    sep = _FIRST_WORD.match(text).end()  # type: ignore[union-attr]
    if sep == 0:
        return _EMPTY
    start = _SPACES.match(text, sep).end()  # type: ignore[union-attr]
    kind, command_text = text[:sep], text[start:]
    if text is not rest:
        kind, command_text = _from_bytes(kind), _from_bytes(command_text)
    command, is_json, why = _maybe_json(command_text)
    return (kind, *command), is_json, why


ArgParser = Callable[[str, str], Parsed]

ARGUMENT_PARSERS: dict[str, ArgParser] = {
    "add": _maybe_json_to_list,
    "arg": _name_or_name_value,
    "cmd": _maybe_json,
    "copy": _maybe_json_to_list,
    "entrypoint": _maybe_json,
    "env": _env,
    "expose": _whitespace_list,
    "from": _whitespace_list,
    "healthcheck": _health_config,
    "label": _label,
    "maintainer": _string,
    "run": _maybe_json,
    "shell": _maybe_json,
    "stopsignal": _string,
    "user": _string,
    "volume": _maybe_json_to_list,
    "workdir": _string,
}

# Keywords BuildKit knows; "onbuild" nests another line.
KEYWORDS = (*ARGUMENT_PARSERS, "onbuild")
