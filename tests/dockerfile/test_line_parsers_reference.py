"""The fast splitters of line_parsers against straightforward character-by-character
transcriptions of BuildKit's loops (extractBuilderFlags, parseWords)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.dockerfile.gotext import GO_SPACE
from dockyard.dockerfile.line_parsers import extract_flags, parse_words


def reference_extract_flags(line: str) -> tuple[str, list[str]]:
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


def reference_parse_words(rest: str, escape: str) -> list[str]:
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


ALPHABET = st.sampled_from([*"-- ab=\"'\\\t`x", "\u00a0", "\u3000", "é"])


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=24))
def test_extract_flags_matches_reference(line: str) -> None:
    # BuildKit scans flags byte by byte: run the reference over the UTF-8 bytes.
    rest, words = reference_extract_flags(line.encode("utf-8").decode("latin-1"))
    assert extract_flags(line) == (rest.encode("latin-1").decode("utf-8", "surrogateescape"), words)


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=24), st.sampled_from(["\\", "`"]))
def test_parse_words_matches_reference(rest: str, escape: str) -> None:
    assert parse_words(rest, escape) == reference_parse_words(rest, escape)
