"""Word expansion with the semantics of BuildKit's shell lexer.

This is what BuildKit's ``frontend/dockerfile/shell`` package does to the words of
ADD, COPY, ENV, FROM, LABEL, USER, WORKDIR...: ``$V`` and ``${V...}`` expansion, quote
removal and escapes, and (for :meth:`ShellLexer.expand_words`) splitting on whitespace
that is not quoted. It is not a shell: there is no command substitution, no globbing and
no arithmetic, and unknown ``${...}`` forms are errors rather than being passed through.

The lexer scans with regular expressions from one special character to the next, so a
word costs time in proportion to its ``$``, quotes and escapes, not to its length; a word
without any of them is returned as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dockyard.dockerfile._shellpattern import (
    go_replace_all,
    pattern_regex,
    trim_prefix,
    trim_suffix,
)
from dockyard.errors import WordExpansionError
from dockyard.location import SourceLocation

__all__ = ["Expansion", "ShellLexer"]

# Go's unicode.IsSpace: the separators BuildKit splits words on (str.isspace() differs:
# it also takes U+001C..U+001F).
_SPACE_RUN = re.compile("[\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")
_ASCII_NAME_TAIL = re.compile(r"[A-Za-z0-9_]*")
# POSIX special parameters ($@, $#...): always unset in a Dockerfile, but they are names.
_SPECIAL_PARAMS = frozenset("@*#?-$!0")
# Go's text/scanner drops a byte-order mark at the very start of its input.
_BOM = "\ufeff"
_EOF = ""
# Python's recursion limit would otherwise end ${A:-${B:-${C:-...}}} with a RecursionError.
_MAX_NESTING = 100
_PATTERN_HINT = "in a pattern only \\*, \\? and \\\\ are escapes"
_MODIFIERS_HINT = (
    "supported forms: ${V}, ${V:-word}, ${V-word}, ${V:+word}, ${V+word}, ${V:?message}, "
    "${V?message}, ${V#pattern}, ${V##pattern}, ${V%pattern}, ${V%%pattern}, "
    "${V/pattern/replacement}, ${V//pattern/replacement}"
)


@dataclass(frozen=True)
class Expansion:
    """Everything one expansion produced (BuildKit's ProcessWordResult)."""

    value: str
    """The word as one string, quotes removed (what ``expand_word`` returns)."""
    words: tuple[str, ...]
    """The word split on unquoted whitespace (what ``expand_words`` returns)."""
    matched: frozenset[str]
    """Names of variables looked up and found in the environment."""
    unmatched: frozenset[str]
    """Names of variables looked up and not found."""


class _Failure(Exception):
    """Why an expansion failed; the public methods turn it into WordExpansionError."""

    def __init__(self, reason: str, hint: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


class ShellLexer:
    """Expands Dockerfile words like BuildKit's ``shell.Lex``.

    ``escape`` is the Dockerfile's escape token (``\\`` or a backtick). The keyword
    options are BuildKit's lexer switches: ``raw_quotes`` keeps quote characters in the
    result, ``raw_escapes`` keeps escape tokens, ``skip_process_quotes`` treats quotes as
    ordinary characters and ``skip_unset_env`` leaves references to unset variables as
    they were written. A lexer holds no state between calls and may be shared.
    """

    def __init__(
        self,
        escape: str = "\\",
        *,
        raw_quotes: bool = False,
        raw_escapes: bool = False,
        skip_process_quotes: bool = False,
        skip_unset_env: bool = False,
    ) -> None:
        if escape not in ("\\", "`"):
            raise WordExpansionError(
                f"invalid escape token {escape!r}", escape, hint="use \\ or ` (backtick)"
            )
        self.escape = escape
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes
        self.skip_process_quotes = skip_process_quotes
        self.skip_unset_env = skip_unset_env
        quotes = "" if skip_process_quotes else "'\""
        specials = re.escape("$" + quotes + escape)
        self._needs_work = re.compile(f"[{specials}]")
        self._stop_on = {
            stop: re.compile(f"[{specials}{re.escape(stop)}]") for stop in (_EOF, "}", "/")
        }
        in_double_quotes = re.escape('$"' + escape)
        self._in_double_quotes = re.compile(f"[{in_double_quotes}]")

    def expand_word(
        self, word: str, env: Mapping[str, str], location: SourceLocation | None = None
    ) -> str:
        """The word expanded to one string (BuildKit's ProcessWord)."""
        if self._needs_work.search(word) is None:
            return word.removeprefix(_BOM)
        return self._expand(word, env, location, split=False).value

    def expand_words(
        self, word: str, env: Mapping[str, str], location: SourceLocation | None = None
    ) -> list[str]:
        """The word expanded and split on unquoted whitespace (BuildKit's ProcessWords).

        Whitespace inside quotes or escaped never splits; whitespace that a ``$V``
        outside quotes brings in does.
        """
        if self._needs_work.search(word) is None:
            return [part for part in _SPACE_RUN.split(word.removeprefix(_BOM)) if part]
        return list(self._expand(word, env, location, split=True).words)

    def expand(
        self, word: str, env: Mapping[str, str], location: SourceLocation | None = None
    ) -> Expansion:
        """Value, words and the variables used (BuildKit's ProcessWordWithMatches)."""
        return self._expand(word, env, location, split=True)

    def _expand(
        self, word: str, env: Mapping[str, str], location: SourceLocation | None, split: bool
    ) -> Expansion:
        scan = _Scan(self, word.removeprefix(_BOM), env)
        pieces: list[tuple[str, bool]] | None = [] if split else None
        try:
            value = scan.process_stop_on(_EOF, self.raw_escapes, pieces)
        except _Failure as failure:
            raise WordExpansionError(failure.reason, word, location, failure.hint) from None
        return Expansion(
            value,
            _split_words(pieces) if pieces is not None else (),
            frozenset(scan.matched),
            frozenset(scan.unmatched),
        )


def _split_words(pieces: list[tuple[str, bool]]) -> tuple[str, ...]:
    """Join pieces into words; only the splittable ones (unquoted) split on whitespace."""
    words: list[str] = []
    current: list[str] = []
    for text, splittable in pieces:
        parts = _SPACE_RUN.split(text) if splittable else None
        if parts is None or len(parts) == 1:
            current.append(text)
            continue
        current.append(parts[0])
        for part in parts[1:]:
            joined = "".join(current)
            if joined:
                words.append(joined)
            current = [part]
    joined = "".join(current)
    if joined:
        words.append(joined)
    return tuple(words)


class _Scan:
    """One expansion in progress: the word, a cursor and the variables seen."""

    __slots__ = (
        "depth",
        "env",
        "lexer",
        "matched",
        "n",
        "pos",
        "raw_escapes",
        "text",
        "unmatched",
    )

    def __init__(self, lexer: ShellLexer, text: str, env: Mapping[str, str]) -> None:
        self.lexer = lexer
        self.text = text
        self.n = len(text)
        self.pos = 0
        self.env = env
        self.raw_escapes = lexer.raw_escapes
        self.depth = 0
        self.matched: set[str] = set()
        self.unmatched: set[str] = set()

    def lookup(self, name: str) -> str | None:
        value = self.env.get(name)
        if value is None:
            self.unmatched.add(name)
        else:
            self.matched.add(name)
        return value

    def process_stop_on(
        self, stop: str, raw_escapes: bool, pieces: list[tuple[str, bool]] | None = None
    ) -> str:
        """Expand up to ``stop`` (consumed) or the end of the word (``stop == ""``).

        ``pieces`` collects (text, splittable) for word splitting: literal text and
        expansions split on whitespace, quoted and escaped text does not.
        """
        if self.depth >= _MAX_NESTING:
            raise _Failure(
                f"substitutions nested more than {_MAX_NESTING} deep",
                "simplify the word, or set the value with ARG/ENV first",
            )
        saved_raw_escapes = self.raw_escapes
        self.raw_escapes = raw_escapes
        self.depth += 1
        try:
            return self._process_stop_on(stop, pieces)
        finally:
            self.raw_escapes = saved_raw_escapes
            self.depth -= 1

    def _process_stop_on(self, stop: str, pieces: list[tuple[str, bool]] | None) -> str:
        text, n = self.text, self.n
        special = self.lexer._stop_on[stop]
        escape = self.lexer.escape
        out: list[str] = []
        pos = self.pos
        while True:
            found = special.search(text, pos)
            if found is None:
                if pos < n:
                    out.append(text[pos:])
                    if pieces is not None:
                        pieces.append((text[pos:], True))
                pos = n
                break
            at = found.start()
            if at > pos:
                out.append(text[pos:at])
                if pieces is not None:
                    pieces.append((text[pos:at], True))
            char = text[at]
            if char == stop:
                self.pos = at + 1
                return "".join(out)
            if char == escape:
                if self.raw_escapes:
                    out.append(char)
                    if pieces is not None:
                        pieces.append((char, False))
                if at + 1 >= n:  # an escape at the very end escapes nothing
                    pos = n
                    break
                out.append(text[at + 1])
                if pieces is not None:
                    pieces.append((text[at + 1], False))
                pos = at + 2
                continue
            self.pos = at
            handler = self.process_dollar if char == "$" else self._quote_handler(char)
            value = handler()
            out.append(value)
            if pieces is not None:
                pieces.append((value, char == "$"))
            pos = self.pos
        self.pos = pos
        if stop:
            raise _Failure(
                f"unexpected end of statement while looking for matching {stop}",
                f"add the missing {stop!r}",
            )
        return "".join(out)

    def _quote_handler(self, char: str) -> Callable[[], str]:
        return self.process_single_quote if char == "'" else self.process_double_quote

    def process_single_quote(self) -> str:
        """Everything up to the next ``'`` is literal; no escapes inside."""
        start = self.pos + 1
        end = self.text.find("'", start)
        if end < 0:
            self.pos = self.n
            raise _Failure(
                "unexpected end of statement while looking for matching single-quote",
                "close the ' quote",
            )
        self.pos = end + 1
        if self.lexer.raw_quotes:
            return self.text[start - 1 : end + 1]
        return self.text[start:end]

    def process_double_quote(self) -> str:
        """``$`` expands; the escape token escapes only ``"``, ``$`` and itself."""
        text, n = self.text, self.n
        escape = self.lexer.escape
        special = self.lexer._in_double_quotes
        raw_quotes = self.lexer.raw_quotes
        out: list[str] = ['"'] if raw_quotes else []
        pos = self.pos + 1
        while True:
            found = special.search(text, pos)
            if found is None:
                self.pos = n
                raise _Failure(
                    "unexpected end of statement while looking for matching double-quote",
                    f'close the " quote (or escape it as {escape}")',
                )
            at = found.start()
            out.append(text[pos:at])
            char = text[at]
            if char == '"':
                if raw_quotes:
                    out.append('"')
                self.pos = at + 1
                return "".join(out)
            if char == "$":
                self.pos = at
                out.append(self.process_dollar())
                pos = self.pos
                continue
            # The escape token. BuildKit writes it once more when raw escapes are on and
            # the next character is not escapable; this keeps that behaviour.
            if self.raw_escapes:
                out.append(escape)
            pos = at + 1
            if pos < n and text[pos] in ('"', "$", escape):
                out.append(text[pos])
                pos += 1
            elif pos < n:
                out.append(escape)

    def process_name(self) -> str:
        """A variable name at the cursor: letters, digits and ``_``; or all digits; or
        one special parameter character. Empty when there is none."""
        text, n, pos = self.text, self.n, self.pos
        if pos >= n:
            return ""
        first = text[pos]
        if first.isdecimal():
            end = pos + 1
            while end < n and text[end].isdecimal():
                end += 1
            self.pos = end
            return text[pos:end]
        if first in _SPECIAL_PARAMS:
            self.pos = pos + 1
            return first
        end = pos
        while True:
            end = _ASCII_NAME_TAIL.match(text, end).end()  # type: ignore[union-attr]
            if end < n and ord(text[end]) > 127 and (text[end].isalpha() or text[end].isdecimal()):
                end += 1
                continue
            break
        self.pos = end
        return text[pos:end]

    def _next_char(self) -> str:
        if self.pos >= self.n:
            return _EOF
        char = self.text[self.pos]
        self.pos += 1
        return char

    def process_dollar(self) -> str:
        """Expand the ``$...`` at the cursor."""
        text, n = self.text, self.n
        self.pos += 1
        if self.pos >= n or text[self.pos] != "{":
            name = self.process_name()
            if not name:
                return "$"
            value = self.lookup(name)
            if value is None:
                return "$" + name if self.lexer.skip_unset_env else ""
            return value
        self.pos += 1
        if self.pos >= n:
            raise _Failure("syntax error: missing '}'", "close the ${ with }")
        if text[self.pos] in "{}:":
            raise _Failure(
                "syntax error: bad substitution",
                f"${{ must be followed by a variable name; write {self.lexer.escape}$ for a "
                "literal $",
            )
        name = self.process_name()
        modifier = self._next_char()
        if modifier == "}":
            value = self.lookup(name)
            if value is None:
                return "${" + name + "}" if self.lexer.skip_unset_env else ""
            return value
        if modifier == ":":
            operator = self._next_char()
            return self._substitute(name, operator, ":" + operator, null_is_unset=True)
        if modifier in ("+", "-", "?", "#", "%"):
            return self._substitute(name, modifier, modifier, null_is_unset=False)
        if modifier == "/":
            return self._replace(name)
        if modifier == _EOF:
            raise _Failure("syntax error: missing '}'", "close the ${ with }")
        raise _Failure(f"unsupported modifier ({modifier}) in substitution", _MODIFIERS_HINT)

    def _substitute(self, name: str, operator: str, spelled: str, null_is_unset: bool) -> str:
        """``${V-w}`` ``${V:-w}`` ``${V+w}`` ``${V:+w}`` ``${V?m}`` ``${V:?m}`` ``${V#p}``
        ``${V##p}`` ``${V%p}`` ``${V%%p}``; ``operator`` is the character after the name
        (and after ``:`` when ``null_is_unset``)."""
        is_pattern = operator in ("#", "%")
        if null_is_unset and is_pattern:
            raise _Failure(f"unsupported modifier ({spelled}) in substitution", _MODIFIERS_HINT)
        try:
            word = self.process_stop_on("}", is_pattern)
        except _Failure:
            if self.pos >= self.n:
                raise _Failure("syntax error: missing '}'", "close the ${ with }") from None
            raise
        value = self.lookup(name)
        if value is None and self.lexer.skip_unset_env:
            return "${" + name + spelled + word + "}"
        empty = value is None or (null_is_unset and value == "")
        if operator == "-":
            return word if empty else (value or "")
        if operator == "+":
            return "" if empty else word
        if operator == "?":
            if value is None:
                raise _Failure(f"{name}: {word or 'is not allowed to be unset'}", _set_hint(name))
            if empty:
                raise _Failure(f"{name}: {word or 'is not allowed to be empty'}", _set_hint(name))
            return value
        if is_pattern:
            greedy = word.startswith(operator)
            if greedy:
                word = word[1:]
            try:
                if operator == "%":
                    return trim_suffix(word, value or "", greedy)
                return trim_prefix(word, value or "", greedy)
            except ValueError as error:
                raise _Failure(str(error), _PATTERN_HINT) from None
        raise _Failure(f"unsupported modifier ({spelled}) in substitution", _MODIFIERS_HINT)

    def _replace(self, name: str) -> str:
        """``${V/pattern/replacement}`` (first match) and ``${V//pattern/replacement}``."""
        replace_all = self.pos < self.n and self.text[self.pos] == "/"
        if replace_all:
            self.pos += 1
        try:
            pattern = self.process_stop_on("/", True)
        except _Failure:
            if self.pos >= self.n:
                raise _Failure(
                    "syntax error: missing '/' in ${}", "write ${V/pattern/replacement}"
                ) from None
            raise
        try:
            replacement = self.process_stop_on("}", True)
        except _Failure:
            if self.pos >= self.n:
                raise _Failure("syntax error: missing '}'", "close the ${ with }") from None
            raise
        value = self.lookup(name)
        if value is None and self.lexer.skip_unset_env:
            return "${" + name + "/" + pattern + "/" + replacement + "}"
        try:
            regex = pattern_regex(pattern, True, False)
        except ValueError as error:
            raise _Failure(str(error), _PATTERN_HINT) from None
        if replace_all:
            return go_replace_all(regex, value or "", replacement)
        found = regex.search(value or "")
        if found is None:
            return value or ""
        assert value is not None
        return value[: found.start()] + replacement + value[found.end() :]


def _set_hint(name: str) -> str:
    return f"give {name} a value: ARG {name}=..., ENV {name}=... or --build-arg {name}=..."
