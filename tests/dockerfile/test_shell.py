"""Golden cases for word expansion beyond the shared corpus: the ${V#p} family, the
replacement forms, matched/unmatched names, the backtick escape token, BuildKit's raw
modes, and errors. Tables marked "lex_test.go" restate BuildKit's TestProcessWithMatches
and TestShellParserMandatoryEnvVars; the others follow lex.go's code paths."""

from __future__ import annotations

import pytest

from dockyard.dockerfile.shell import ShellLexer
from dockyard.errors import DockerfileError, WordExpansionError
from dockyard.location import SourceLocation

ERROR = object()

# (input, env, expected value or ERROR, matched, unmatched) -- lex_test.go TestProcessWithMatches
WITH_MATCHES: list[tuple[str, dict[str, str], object, set[str], set[str]]] = [
    ("x", {"DUMMY": "dummy"}, "x", set(), set()),
    ("x ${UNUSED}", {"DUMMY": "dummy"}, "x ", set(), {"UNUSED"}),
    ("x ${FOO}", {"FOO": "y"}, "x y", {"FOO"}, set()),
    (
        "${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}",
        {"FOO": "xxx", "BAR": ""},
        "xxx  ccc",
        {"FOO", "BAR"},
        {"BAZ"},
    ),
    (
        "${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}",
        {"FOO": "xxx", "BAR": ""},
        "xxx bbb ccc",
        {"FOO", "BAR"},
        {"BAZ"},
    ),
    ("${FOO:-}", {"FOO": "xxx", "BAR": ""}, "xxx", {"FOO"}, set()),
    ("${FOO:-}", {}, "", set(), {"FOO"}),
    (
        "${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}",
        {"FOO": "xxx", "BAR": ""},
        "aaa bbb ",
        {"FOO", "BAR"},
        {"BAZ"},
    ),
    (
        "${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}",
        {"FOO": "xxx", "BAR": ""},
        "aaa  ",
        {"FOO", "BAR"},
        {"BAZ"},
    ),
    ("${FOO?aaa}", {"FOO": "xxx", "BAR": ""}, "xxx", {"FOO"}, set()),
    ("${BAR?bbb}", {"FOO": "xxx", "BAR": ""}, "", {"BAR"}, set()),
    ("${BAZ?ccc}", {"FOO": "xxx", "BAR": ""}, ERROR, set(), {"BAZ"}),
    ("${FOO:?aaa}", {"FOO": "xxx", "BAR": ""}, "xxx", {"FOO"}, set()),
    ("${BAR:?bbb}", {"FOO": "xxx", "BAR": ""}, ERROR, set(), set()),
    ("${BAZ:?ccc}", {"FOO": "xxx", "BAR": ""}, ERROR, set(), {"BAZ"}),
    ("${BAZ:?}", {"FOO": "xxx", "BAR": ""}, ERROR, set(), {"BAZ"}),
    ("${FOO=aaa}", {"FOO": "xxx", "BAR": ""}, ERROR, set(), set()),
    ("${FOO=:aaa}", {"FOO": "xxx", "BAR": ""}, ERROR, set(), set()),
    ("${FOO=}", {}, ERROR, set(), set()),
    ("${FOO#()[]{\\}^$.\\*\\?|\\\\}", {"FOO": "()[]{}^$.*?|\\x"}, "x", {"FOO"}, set()),
    ("${FOO%%\\**}", {"FOO": "xx**"}, "xx", {"FOO"}, set()),
    ("${FOO#*x*y}", {"FOO": "xxyy"}, "y", {"FOO"}, set()),
    ("${FOO#*}", {"FOO": "xxyy"}, "xxyy", {"FOO"}, set()),
    ("${FOO#$BAR}", {"FOO": "xxyy", "BAR": "x"}, "xyy", {"FOO", "BAR"}, set()),
    ("${FOO#$BAR}", {"FOO": "xxyy", "BAR": ""}, "xxyy", {"FOO", "BAR"}, set()),
    ("${FOO#}", {"FOO": "xxyy"}, "xxyy", {"FOO"}, set()),
    ("${FOO##*x}", {"FOO": "xxyy"}, "yy", {"FOO"}, set()),
    ("${FOO##}", {"FOO": "xxyy"}, "xxyy", {"FOO"}, set()),
    ("${FOO#?\\?}", {"FOO": "???y"}, "?y", {"FOO"}, set()),
    ("${ABC:-.}${FOO%x}${ABC:-.}", {"FOO": "xxyy"}, ".xxyy.", {"FOO"}, {"ABC"}),
    ("${FOO%%\\**\\*}", {"FOO": "a***yy*"}, "a", {"FOO"}, set()),
    ("${FOO%}", {"FOO": "xxyy"}, "xxyy", {"FOO"}, set()),
    ("${FOO%%$BAR}", {"FOO": "xxyy", "BAR": ""}, "xxyy", {"FOO", "BAR"}, set()),
    (
        "${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}",
        {"FOO": "/foo*/*/*.txt", "NEEDLE": "\\*/"},
        "/foo.*/*.txt - /foo..*.txt",
        {"FOO", "NEEDLE"},
        set(),
    ),
    (
        "${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}",
        {"FOO": "/tmp/tmp/bar.txt", "NEEDLE": "/tmp"},
        "/tmp/bar.txt - /bar.txt",
        {"FOO", "NEEDLE"},
        set(),
    ),
    (
        "${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}",
        {"FOO": "/a/foo/b/c.txt", "NEEDLE": "/?/", "REPLACEMENT": "/"},
        "/foo/b/c.txt - /foo/c.txt",
        {"FOO", "NEEDLE", "REPLACEMENT"},
        set(),
    ),
    (
        "${FOO/$NEEDLE/$REPLACEMENT}",
        {"FOO": "http://google.de", "NEEDLE": "http://", "REPLACEMENT": "https://"},
        "https://google.de",
        {"FOO", "NEEDLE", "REPLACEMENT"},
        set(),
    ),
    ("${FOO//\\//\\/}", {"FOO": "/tmp/foo.txt"}, "\\/tmp\\/foo.txt", {"FOO"}, set()),
    ("${FOO/$BAR/ww}", {"FOO": "xxyy", "BAR": ""}, "wwxxyy", {"FOO", "BAR"}, set()),
    ("${FOO//ww}", {"FOO": "xxyy"}, ERROR, set(), set()),
    ("${FOO//}", {"FOO": "xxyy"}, ERROR, set(), set()),
    ("${FOO///}", {"FOO": "xxyy"}, "xxyy", {"FOO"}, set()),
    ("${FOO///}", {}, "", set(), {"FOO"}),
    (
        "something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz",
        {"VERSION": "v1.2.3", "TARGETOS": "linux", "TARGETARCH": "arm", "TARGETVARIANT": "v7"},
        "something-v1.2.3.linux-arm-v7.tar.gz",
        {"VERSION", "TARGETOS", "TARGETARCH", "TARGETVARIANT"},
        set(),
    ),
    (
        "something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz",
        {"VERSION": "v1.2.3", "TARGETOS": "linux", "TARGETARCH": "amd64"},
        "something-v1.2.3.linux-amd64.tar.gz",
        {"VERSION", "TARGETOS", "TARGETARCH"},
        {"TARGETVARIANT"},
    ),
]


@pytest.mark.parametrize(("word", "env", "expected", "matched", "unmatched"), WITH_MATCHES)
def test_process_with_matches(
    word: str, env: dict[str, str], expected: object, matched: set[str], unmatched: set[str]
) -> None:
    lexer = ShellLexer()
    if expected is ERROR:
        with pytest.raises(WordExpansionError):
            lexer.expand(word, env)
        return
    result = lexer.expand(word, env)
    assert result.value == expected
    assert result.matched == matched
    assert result.unmatched == unmatched


TARBALL = {"V": "foo.tar.gz", "P": "/usr/local/lib/python3/site.py", "E": ""}
# Our own cases for the pattern family (what bash also gives, except where noted).
PATTERNS = [
    ("${V%.*}", "foo.tar"),
    ("${V%%.*}", "foo"),
    ("${V#*.}", "tar.gz"),
    ("${V##*.}", "gz"),
    ("${V#foo}", ".tar.gz"),
    ("${V%gz}", "foo.tar."),
    ("${V#nomatch}", "foo.tar.gz"),
    ("${V%?}", "foo.tar.g"),
    ("${V#???}", ".tar.gz"),
    ("${P##*/}", "site.py"),
    ("${P%/*}", "/usr/local/lib/python3"),
    ("${P#/*/}", "local/lib/python3/site.py"),
    ("${P##/*/}", "site.py"),
    ("${P%%/*}", ""),
    ("${E#x}", ""),
    ("${UNSET%%*}", ""),
    ("${V/o/0}", "f0o.tar.gz"),
    ("${V//o/0}", "f00.tar.gz"),
    ("${V/?/X}", "Xoo.tar.gz"),
    ("${V//./-}", "foo-tar-gz"),
    ("${V/.*/}", "foo"),  # '*' in replacement patterns is greedy
    ("${V//*/x}", "x"),  # Go skips the empty match right after a match (Python's re.sub would not)
    ("${V/#f/x}", "foo.tar.gz"),  # BuildKit has no ${V/#p/r} anchor: '#' is literal
    ("${V/%gz/x}", "foo.tar.gz"),  # ... nor ${V/%p/r}
    ("${V//o/'<$0>'}", "f<o><o>.tar.gz"),  # Go's ReplaceAllString expands $0 to the match
    ("${V/o/'<$0>'}", "f<$0>o.tar.gz"),  # ... the first-match form inserts it literally
    ("${V//o/'$$'}", "f$$.tar.gz"),  # $$ is a dollar in Go's template
    ("${V//o/'$x'}", "f.tar.gz"),  # a named group that does not exist is empty
    ("${V//o/'$'}", "f$$.tar.gz"),  # a malformed reference stays
    ("${V#'foo'}", ".tar.gz"),  # quotes are removed from patterns
    ('${V#"f"*}', "oo.tar.gz"),
    ("${V%\\}}", "foo.tar.gz"),
    ("${V//\\}/x}", "foo.tar.gz"),
]


@pytest.mark.parametrize(("word", "expected"), PATTERNS)
def test_pattern_family(word: str, expected: str) -> None:
    assert ShellLexer().expand_word(word, TARBALL) == expected


@pytest.mark.parametrize(
    "word",
    [
        "${V:#x}",  # no ':' form of # and % in BuildKit
        "${V:%x}",
        "${V#\\x}",  # only \*, \? and \\ escape in a pattern
        "${V%a\\b}",
        "${V/\\a/b}",
        "${V#x",
        "${V/x}",
        "${V:=x}",
        "${V^^}",
        "${V,}",
        "${#V}",
        "${V:0:1}",
    ],
)
def test_pattern_errors(word: str) -> None:
    with pytest.raises(WordExpansionError):
        ShellLexer().expand_word(word, TARBALL)


def test_mandatory_variables() -> None:
    """lex_test.go TestShellParserMandatoryEnvVars."""
    lexer = ShellLexer()
    no_empty, no_unset = "${VAR:?message here$ARG}", "${VAR?message here$ARG}"
    assert lexer.expand_word(no_empty, {"VAR": "plain", "ARG": "x"}) == "plain"
    assert lexer.expand_word(no_unset, {"VAR": "plain", "ARG": "x"}) == "plain"
    assert lexer.expand_word(no_unset, {"VAR": "", "ARG": "x"}) == ""
    for word, env in [
        (no_empty, {"VAR": "", "ARG": "x"}),
        (no_empty, {"ARG": "x"}),
        (no_unset, {"ARG": "x"}),
    ]:
        with pytest.raises(WordExpansionError) as caught:
            lexer.expand_word(word, env)
        assert "VAR: message herex" in str(caught.value)


def test_mandatory_default_messages() -> None:
    lexer = ShellLexer()
    with pytest.raises(WordExpansionError, match="V: is not allowed to be unset"):
        lexer.expand_word("${V?}", {})
    with pytest.raises(WordExpansionError, match="V: is not allowed to be empty"):
        lexer.expand_word("${V:?}", {"V": ""})


# (word, env, expected) with the backtick escape token (# escape=`)
BACKTICK = [
    ("he`$PWD", {"PWD": "/home"}, "he$PWD"),
    ("he$PWD", {"PWD": "/home"}, "he/home"),
    ("C:\\Windows\\System32", {}, "C:\\Windows\\System32"),  # backslash is an ordinary char
    ("\\$PWD", {"PWD": "/home"}, "\\/home"),
    ("hello`", {}, "hello"),  # an escape at the end escapes nothing
    ("hello``", {}, "hello`"),
    ("a`tb", {}, "atb"),
    ('"a`"b"', {}, 'a"b'),
    ('"a`$PWD"', {"PWD": "/home"}, "a$PWD"),
    ('"a``b"', {}, "a`b"),
    ('"a`tb"', {}, "a`tb"),  # not escapable inside double quotes: kept
    ('"a\\"', {}, "a\\"),  # backslash does not escape the quote
    ("'a`b'", {}, "a`b"),
    ("`${V}", {"V": "x"}, "${V}"),
    ("${V:-`}}", {}, "}"),
    ("${V#\\*}", {"V": "*x"}, "x"),  # pattern escapes stay backslashes whatever the token
    ("${V#`*}", {"V": "`abc"}, "abc"),  # the raw token is a literal in the pattern
    ("${V%`}}", {"V": "a}"}, "a}"),  # `} is kept raw: pattern "`}" does not match "a}"
]


@pytest.mark.parametrize(("word", "env", "expected"), BACKTICK)
def test_backtick_escape(word: str, env: dict[str, str], expected: str) -> None:
    assert ShellLexer("`").expand_word(word, env) == expected


def test_backtick_escape_word_splitting() -> None:
    lexer = ShellLexer("`")
    assert lexer.expand_words("a` b c", {}) == ["a b", "c"]
    assert lexer.expand_words("a\\ b", {}) == ["a\\", "b"]
    assert lexer.expand_words('"x y"`  z', {}) == ["x y ", "z"]


# (word, env, expected words) -- ProcessWords
SPLITTING = [
    ("", {}, []),
    ("   ", {}, []),
    ("''", {}, []),  # an empty quoted string makes no word
    ("a '' b", {}, ["a", "b"]),
    ("a\tb\nc", {}, ["a", "b", "c"]),
    ("a\u00a0b\u3000c", {}, ["a", "b", "c"]),  # Go's unicode.IsSpace
    ("a\x1fb", {}, ["a\x1fb"]),  # ... which U+001F is not (str.split() would split)
    ("$V", {"V": " x  y "}, ["x", "y"]),
    ('"$V"', {"V": " x  y "}, [" x  y "]),
    ("a${V}b", {"V": "1 2"}, ["a1", "2b"]),
    ("a${X:-1 2}b", {}, ["a1", "2b"]),
    ("a${X:-b}c", {}, ["abc"]),
    ("'a b'\" c\"", {}, ["a b c"]),
    ("8080/tcp 53/udp", {}, ["8080/tcp", "53/udp"]),
]


@pytest.mark.parametrize(("word", "env", "expected"), SPLITTING)
def test_word_splitting(word: str, env: dict[str, str], expected: list[str]) -> None:
    lexer = ShellLexer()
    assert lexer.expand_words(word, env) == expected
    assert list(lexer.expand(word, env).words) == expected


def test_raw_quotes_and_skip_unset_keep_the_text() -> None:
    lexer = ShellLexer(raw_quotes=True, skip_unset_env=True)
    env = {"space": "abc  def"}
    assert lexer.expand_word('hello"${space}"bye', env) == 'hello"abc  def"bye'
    assert lexer.expand_word("'$space'", env) == "'$space'"
    assert lexer.expand_word("$unset ${unset} x", env) == "$unset ${unset} x"
    assert lexer.expand_word("${unset:-d}${unset#p}${unset/a/b}", env) == (
        "${unset:-d}${unset#p}${unset/a/b}"
    )
    assert lexer.expand_word("${space:-d}", env) == "abc  def"
    # an unset variable makes even an unsupported modifier pass through
    assert lexer.expand_word("${unset:=x}", env) == "${unset:=x}"


def test_skip_process_quotes_and_raw_escapes() -> None:
    assert ShellLexer(skip_process_quotes=True).expand_word("'$A' \"$A\"", {"A": "1"}) == (
        "'1' \"1\""
    )
    raw = ShellLexer(raw_escapes=True)
    assert raw.expand_word("a\\$A\\b", {"A": "1"}) == "a\\$A\\b"
    assert raw.expand_word('"\\$A"', {"A": "1"}) == "\\$A"
    # lex.go writes the token once more before a character it does not escape
    assert raw.expand_word('"a\\tb"', {}) == "a\\\\tb"


def test_byte_order_mark_at_start_is_dropped_like_go_text_scanner() -> None:
    lexer = ShellLexer()
    assert lexer.expand_word("\ufeffabc", {}) == "abc"
    assert lexer.expand_word("\ufeff$A", {"A": "x"}) == "x"
    assert lexer.expand_word("a\ufeffb", {}) == "a\ufeffb"


def test_names() -> None:
    lexer = ShellLexer()
    env = {"näme": "u", "a1": "d", "_": "underscore", "A": "a"}
    assert lexer.expand_word("$näme.", env) == "u."
    assert lexer.expand_word("$a1-$_-$A", env) == "d-underscore-a"
    assert lexer.expand_word("$1A", env) == "A"  # digits-only names
    assert lexer.expand_word("$٣x", {"٣": "arabic"}) == "arabicx"  # any Unicode digit


def test_error_carries_location_and_hint() -> None:
    lexer = ShellLexer()
    where = SourceLocation("Dockerfile", 7, 8)
    with pytest.raises(DockerfileError) as caught:
        lexer.expand_word("app-${VERSION:?set VERSION}", {}, location=where)
    error = caught.value
    assert isinstance(error, WordExpansionError)
    assert error.location == where
    assert error.reason == "VERSION: set VERSION"
    assert error.word == "app-${VERSION:?set VERSION}"
    assert str(error).startswith("Dockerfile:7: failed to expand 'app-${VERSION:?set VERSION}'")
    assert error.hint is not None and "--build-arg VERSION=" in error.hint


def test_with_location_relocates_an_error() -> None:
    with pytest.raises(WordExpansionError) as caught:
        ShellLexer().expand_words("${", {})
    assert caught.value.location is None
    located = caught.value.with_location(SourceLocation("Dockerfile", 3, 3))
    assert str(located).startswith("Dockerfile:3: failed to expand '${': syntax error")


@pytest.mark.parametrize(
    ("word", "reason"),
    [
        ("${", "missing '}'"),
        ("${}", "bad substitution"),
        ("${V", "missing '}'"),
        ("${V:-x", "missing '}'"),
        ("${V/a", "missing '/'"),
        ("'abc", "single-quote"),
        ('"abc', "double-quote"),
        ("${V@}", "unsupported modifier (@)"),
    ],
)
def test_error_reasons(word: str, reason: str) -> None:
    with pytest.raises(WordExpansionError) as caught:
        ShellLexer().expand_word(word, {})
    assert reason in caught.value.reason


def test_invalid_escape_token() -> None:
    with pytest.raises(DockerfileError):
        ShellLexer("/")
