"""Property tests for word expansion: arbitrary input only ever fails with a
DockerfileError, the fast path agrees with the full lexer, quoting and escaping round
trip, and the ${V#p} family agrees with a brute-force reading of the shell rules."""

from __future__ import annotations

import fnmatch

from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.dockerfile.shell import ShellLexer
from dockyard.errors import DockerfileError

# Text rich in the characters the lexer cares about, plus anything else.
SPECIAL = st.sampled_from([*"${}:-+?#%/*'\"\\`@!0123 \tabAB_.[]^", "\n", "é", "한", "\ufeff"])
WORDS = st.lists(st.one_of(SPECIAL, st.characters()), max_size=40).map("".join)
NAMES = st.sampled_from(["A", "B", "EMPTY", "UNSET", "a_1"])
ENVS = st.dictionaries(NAMES, st.text(max_size=12), max_size=4)
LEXERS = st.builds(
    ShellLexer,
    st.sampled_from(["\\", "`"]),
    raw_quotes=st.booleans(),
    raw_escapes=st.booleans(),
    skip_process_quotes=st.booleans(),
    skip_unset_env=st.booleans(),
)
GO_SPACE = set("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {
    chr(c) for c in range(0x2000, 0x200B)
}


@settings(max_examples=600, deadline=None)
@given(LEXERS, WORDS, ENVS)
def test_arbitrary_input_fails_only_with_dockerfile_error(
    lexer: ShellLexer, word: str, env: dict[str, str]
) -> None:
    try:
        expansion = lexer.expand(word, env)
    except DockerfileError:
        return
    assert lexer.expand_word(word, env) == expansion.value
    assert lexer.expand_words(word, env) == list(expansion.words)
    assert all(expansion.words)
    assert expansion.matched <= set(env)
    assert expansion.unmatched.isdisjoint(env)


@given(st.text().filter(lambda text: not set("$'\"\\`") & set(text)), ENVS)
def test_words_without_specials_are_returned_as_written(text: str, env: dict[str, str]) -> None:
    for lexer in (ShellLexer("\\"), ShellLexer("`")):
        text = text.removeprefix("\ufeff")
        assert lexer.expand_word(text, env) == text
        expected: list[str] = []
        current = ""
        for char in text:
            if char in GO_SPACE:
                if current:
                    expected.append(current)
                current = ""
            else:
                current += char
        if current:
            expected.append(current)
        assert lexer.expand_words(text, env) == expected
        # The fast path must agree with the full scanner (forced by a '$' at the end).
        assert lexer.expand_word(text + "$", env) == text + "$"


@given(st.text().filter(lambda text: "'" not in text))
def test_single_quotes_keep_everything(text: str) -> None:
    assert ShellLexer().expand_word(f"'{text}'", {"A": "x"}) == text
    assert ShellLexer().expand_words(f"'{text}'", {}) == ([text] if text else [])


@given(st.text(), st.sampled_from(["\\", "`"]))
def test_escaping_every_character_gives_it_back(text: str, escape: str) -> None:
    escaped = "".join(escape + char for char in text)
    lexer = ShellLexer(escape)
    assert lexer.expand_word(escaped, {}) == text
    assert lexer.expand_words(escaped, {}) == ([text] if text else [])


@given(st.text())
def test_variable_values_are_inserted_verbatim(value: str) -> None:
    lexer = ShellLexer()
    env = {"V": value}
    assert lexer.expand_word("$V", env) == value
    assert lexer.expand_word("${V}", env) == value
    assert lexer.expand_word('"$V"', env) == value
    assert lexer.expand_words('"${V}"', env) == ([value] if value else [])
    assert lexer.expand_word("${V:-d}", env) == (value or "d")
    assert lexer.expand_word("${V-d}", env) == value
    assert lexer.expand_word("${V:+s}", env) == ("s" if value else "")
    assert lexer.expand_word("${V+s}", env) == "s"
    assert lexer.expand_word("${UNSET-d}${UNSET+s}", env) == "d"


PATTERN_VALUES = st.text(alphabet="ab./", max_size=10)
PATTERNS = st.text(alphabet="ab./*?", max_size=5)


def _bash_trim(value: str, pattern: str, operator: str) -> str:
    """What the shell specifies: remove the shortest/longest matching prefix/suffix."""
    cuts = range(len(value) + 1)
    if operator in ("#", "##"):
        found = [k for k in cuts if fnmatch.fnmatchcase(value[:k], pattern)]
        if not found:
            return value
        return value[(min(found) if operator == "#" else max(found)) :]
    found = [k for k in cuts if fnmatch.fnmatchcase(value[k:], pattern)]
    if not found:
        return value
    return value[: (max(found) if operator == "%" else min(found))]


@settings(max_examples=400, deadline=None)
@given(PATTERN_VALUES, PATTERNS, st.sampled_from(["#", "##", "%", "%%"]))
def test_trimming_agrees_with_the_shell_rules(value: str, pattern: str, operator: str) -> None:
    got = ShellLexer().expand_word("${V" + operator + pattern + "}", {"V": value})
    assert got == _bash_trim(value, pattern, operator)


@settings(max_examples=300, deadline=None)
@given(PATTERN_VALUES, st.text(alphabet="ab.", min_size=1, max_size=3), st.text("xy", max_size=2))
def test_literal_replacement_agrees_with_str_replace(value: str, needle: str, new: str) -> None:
    lexer = ShellLexer()
    env = {"V": value}
    assert lexer.expand_word("${V//" + needle + "/" + new + "}", env) == value.replace(needle, new)
    assert lexer.expand_word("${V/" + needle + "/" + new + "}", env) == value.replace(
        needle, new, 1
    )


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    lexer = ShellLexer()
    word = "${A:-" * 5000 + "x" + "}" * 5000
    try:
        lexer.expand_word(word, {})
    except DockerfileError as error:
        assert "nested" in str(error)
    else:
        raise AssertionError("expected an error")
    assert lexer.expand_word("${A:-" * 50 + "x" + "}" * 50, {}) == "x"
