"""Turning one logical line into a ``Node``: BuildKit's per-instruction argument shapes.

``split_command`` separates keyword, flags and arguments; the ``_parse_*`` functions
produce the argument chain of each instruction exactly as BuildKit's line parsers do
(see the conformance README: JSON vs shell form, whitespace lists, key/value triples).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from dockyard.dockerfile.gotext import GO_SPACE, go_trim_left_space, go_trim_space

# BuildKit's reWhitespace: only these split argument lists (not NBSP and friends).
_WHITESPACE = re.compile(r"[\t\v\f\r ]+")
_SURROGATE = re.compile("[\ud800-\udfff]")


class LineError(Exception):
    """A line that BuildKit's parser rejects; the caller adds the location."""

    def __init__(self, what: str, hint: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.hint = hint


@dataclass(frozen=True)
class Parsed:
    args: tuple[str, ...] = ()
    is_json: bool = False
    json_error: str | None = None  # why text starting with "[" was taken as shell form


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
    """Take the leading ``--flag`` words; quotes are removed and ``\\`` escapes."""
    words: list[str] = []
    word: list[str] = []
    blank_ok = False
    pos, end = 0, len(line)
    while True:
        # Looking for the start of a word.
        while pos < end and line[pos] in GO_SPACE:
            pos += 1
        if pos == end:
            return "", words
        if not line.startswith("--", pos):
            return line[pos:], words
        quote = ""
        while True:
            if pos == end:
                text = "".join(word)
                if text != "--" and (blank_ok or text):
                    words.append(text)
                return "", words
            char = line[pos]
            if quote:
                if char == quote:
                    quote = ""
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
                continue
            if char in GO_SPACE:
                text = "".join(word)
                if text == "--":
                    return line[pos:], words
                if blank_ok or text:
                    words.append(text)
                word.clear()
                blank_ok = False
                break
            if char in "'\"":
                quote = char
                blank_ok = True
                pos += 1
                continue
            if char == "\\":
                if pos + 1 == end:
                    pos += 1
                    continue
                pos += 1
                char = line[pos]
            word.append(char)
            pos += 1


def parse_words(rest: str, escape: str) -> list[str]:
    """BuildKit's quote-aware splitter: quotes and escapes stay in the words."""
    words: list[str] = []
    word: list[str] = []
    blank_ok = False
    quote = ""
    in_word = False
    pos, end = 0, len(rest)
    while pos < end:
        char = rest[pos]
        if not in_word:
            if char in GO_SPACE:
                pos += 1
                continue
            in_word = True
        if quote:
            if char == quote:
                quote = ""
            elif char == escape and quote != "'":
                if pos + 1 == end:
                    quote = ""
                    pos += 1
                    continue
                word.append(char)
                pos += 1
                char = rest[pos]
            word.append(char)
            pos += 1
            continue
        if char in GO_SPACE:
            if blank_ok or word:
                words.append("".join(word))
            word.clear()
            blank_ok = False
            in_word = False
            pos += 1
            continue
        if char in "'\"":
            quote = char
            blank_ok = True
        if char == escape:
            if pos + 1 == end:
                pos += 1
                continue
            word.append(char)
            pos += 1
            char = rest[pos]
        word.append(char)
        pos += 1
    if in_word and (blank_ok or word):
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


def _maybe_json(rest: str) -> Parsed:
    if rest == "":
        return Parsed()
    elements, why = _parse_json(rest)
    if elements is not None:
        return Parsed(elements, is_json=True)
    return Parsed((rest,), json_error=why)


def _maybe_json_to_list(rest: str) -> Parsed:
    elements, why = _parse_json(rest)
    if elements is not None:
        return Parsed(elements, is_json=True)
    return Parsed(_whitespace_list(rest).args, json_error=why)


def _whitespace_list(rest: str) -> Parsed:
    if rest == "":
        return Parsed()
    return Parsed(tuple(_WHITESPACE.split(rest)))


def _string(rest: str) -> Parsed:
    return Parsed((rest,)) if rest else Parsed()


def _name_or_name_value(rest: str, escape: str) -> Parsed:
    return Parsed(tuple(parse_words(rest, escape)))


def _name_value(rest: str, escape: str, keyword: str) -> Parsed:
    words = parse_words(rest, escape)
    if not words:
        return Parsed()
    if "=" not in words[0]:
        parts = _WHITESPACE.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise LineError(
                f"{keyword} must have two arguments",
                f"write {keyword} {parts[0]}=<value>",
            )
        return Parsed((parts[0], parts[1], ""))
    args: list[str] = []
    for word in words:
        if "=" not in word:
            raise LineError(
                f"Syntax error - can't find = in {word!r}. Must be of the form: name=value",
                f"every word of {keyword} key=value form needs '='",
            )
        key, value = word.split("=", 1)
        args += (key, value, "=")
    return Parsed(tuple(args))


def _health_config(rest: str) -> Parsed:
    sep = 0
    while sep < len(rest) and rest[sep] not in GO_SPACE:
        sep += 1
    if sep == 0:
        return Parsed()
    nxt = sep
    while nxt < len(rest) and rest[nxt] in GO_SPACE:
        nxt += 1
    command = _maybe_json(rest[nxt:])
    return Parsed((rest[:sep], *command.args), command.is_json, command.json_error)


ArgParser = Callable[[str, str], Parsed]

ARGUMENT_PARSERS: dict[str, ArgParser] = {
    "add": lambda rest, escape: _maybe_json_to_list(rest),
    "arg": _name_or_name_value,
    "cmd": lambda rest, escape: _maybe_json(rest),
    "copy": lambda rest, escape: _maybe_json_to_list(rest),
    "entrypoint": lambda rest, escape: _maybe_json(rest),
    "env": lambda rest, escape: _name_value(rest, escape, "ENV"),
    "expose": lambda rest, escape: _whitespace_list(rest),
    "from": lambda rest, escape: _whitespace_list(rest),
    "healthcheck": lambda rest, escape: _health_config(rest),
    "label": lambda rest, escape: _name_value(rest, escape, "LABEL"),
    "maintainer": lambda rest, escape: _string(rest),
    "run": lambda rest, escape: _maybe_json(rest),
    "shell": lambda rest, escape: _maybe_json(rest),
    "stopsignal": lambda rest, escape: _string(rest),
    "user": lambda rest, escape: _string(rest),
    "volume": lambda rest, escape: _maybe_json_to_list(rest),
    "workdir": lambda rest, escape: _string(rest),
}

# Keywords BuildKit knows; "onbuild" nests another line.
KEYWORDS = (*ARGUMENT_PARSERS, "onbuild")
