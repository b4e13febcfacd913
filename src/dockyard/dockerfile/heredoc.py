"""Finding here-documents on a RUN/COPY/ADD line, the way BuildKit does.

BuildKit splits the whole line into shell words (quotes and escapes kept, variables
left alone), and every word of the form ``[fd]<<[-]DELIM`` opens a heredoc. The
delimiter is then read once with quotes removed and once with quotes kept: if any
part of it was quoted (``<<'EOF'``, ``<<"EOF"``, ``<<E"O"F``) the body is not expanded.
"""

from __future__ import annotations

import re
from functools import lru_cache

from dockyard.dockerfile.gotext import GO_SPACE
from dockyard.dockerfile.nodes import Heredoc

_HEREDOC_WORD = re.compile(r"(\d*)<<(-?)([^<]*)\Z", re.DOTALL)


class _LexError(Exception):
    pass


def _split_words(text: str, *, raw_quotes: bool, raw_escapes: bool) -> list[str]:
    """Shell words of ``text`` with an empty environment where unset variables stay as written."""
    words: list[str] = []
    word: list[str] = []
    in_word = False
    pos, end = 0, len(text)

    def flush() -> None:
        nonlocal in_word
        if word:
            words.append("".join(word))
            word.clear()
        in_word = False

    while pos < end:
        char = text[pos]
        if char == "'":
            close = text.find("'", pos + 1)
            if close < 0:
                raise _LexError("unterminated single quote")
            body = text[pos + 1 : close]
            word.append(f"'{body}'" if raw_quotes else body)
            in_word = True
            pos = close + 1
        elif char == '"':
            pos = _double_quoted(text, pos, word, raw_quotes, raw_escapes)
            in_word = True
        elif char == "$":
            # Unset variables are kept as written; what they contain splits like text.
            pos, literal = _dollar(text, pos)
            for part in literal:
                if part in GO_SPACE:
                    if in_word:
                        flush()
                else:
                    word.append(part)
                    in_word = True
        elif char == "\\":
            if pos + 1 >= end:
                break
            if raw_escapes:
                word.append(char)
            word.append(text[pos + 1])
            in_word = True
            pos += 2
        else:
            if char in GO_SPACE:
                if in_word:
                    flush()
            else:
                word.append(char)
                in_word = True
            pos += 1
    flush()
    return words


def _double_quoted(
    text: str, pos: int, word: list[str], raw_quotes: bool, raw_escapes: bool
) -> int:
    end = len(text)
    if raw_quotes:
        word.append('"')
    pos += 1
    while True:
        if pos >= end:
            raise _LexError("unterminated double quote")
        char = text[pos]
        if char == '"':
            if raw_quotes:
                word.append('"')
            return pos + 1
        if char == "$":
            pos, literal = _dollar(text, pos)
            word.append(literal)
            continue
        if char == "\\" and pos + 1 < end and text[pos + 1] in '"$\\':
            if raw_escapes:
                word.append(char)
            word.append(text[pos + 1])
            pos += 2
            continue
        if char == "\\" and pos + 1 >= end:
            pos += 1
            continue
        word.append(char)
        pos += 1


def _dollar(text: str, pos: int) -> tuple[int, str]:
    """Skip a ``$NAME`` / ``${...}`` reference, returning it verbatim."""
    if pos + 1 < len(text) and text[pos + 1] == "{":
        depth, scan = 0, pos + 1
        while scan < len(text):
            if text[scan] == "{":
                depth += 1
            elif text[scan] == "}":
                depth -= 1
                if depth == 0:
                    return scan + 1, text[pos : scan + 1]
            scan += 1
        raise _LexError("missing '}'")
    return pos + 1, "$"


@lru_cache(maxsize=512)
def parse_heredoc_word(word: str) -> Heredoc | None:
    """The heredoc a word opens (content still empty), or None if it opens none."""
    match = _HEREDOC_WORD.match(word)
    if match is None or not match.group(3):
        return None
    fd_text, dash, rest = match.groups()
    try:
        plain = _split_words(rest, raw_quotes=False, raw_escapes=False)
        if len(plain) != 1:
            return None
        raw = _split_words(rest, raw_quotes=True, raw_escapes=False)
    except _LexError:
        return None
    name = plain[0]
    quoted = raw[0].count("'") + raw[0].count('"') != name.count("'") + name.count('"')
    return Heredoc(
        name=name,
        content="",
        expand=not quoted,
        chomp=dash == "-",
        fd=int(fd_text) if fd_text else None,
    )


def heredocs_from_line(line: str) -> list[Heredoc]:
    """Every heredoc a logical line opens, in order."""
    try:
        words = _split_words(line, raw_quotes=True, raw_escapes=True)
    except _LexError:
        return []
    found = []
    for word in words:
        heredoc = parse_heredoc_word(word)
        if heredoc is not None:
            found.append(heredoc)
    return found
