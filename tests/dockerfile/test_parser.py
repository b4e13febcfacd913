"""Golden cases for the parser beyond BuildKit's testfiles: heredocs, directives, flags."""

from __future__ import annotations

import pytest

from dockyard.dockerfile.dump import dump
from dockyard.dockerfile.heredoc import heredocs_from_line, parse_heredoc_word
from dockyard.dockerfile.nodes import Heredoc
from dockyard.dockerfile.parser import parse
from dockyard.errors import DockerfileError

# The table of BuildKit's parser_heredoc_test.go (TestParseExtractsHeredoc), as data.
HEREDOC_FILE = """
FROM alpine:3.6

ENV NAME=me

RUN ls

USER <<INVALID
INVALID

RUN <<EMPTY
EMPTY

RUN 3<<EMPTY2
EMPTY2

RUN "<<NOHEREDOC"

RUN <<INDENT
\tfoo
\tbar
INDENT

RUN <<-UNINDENT
\tbaz
\tquux
UNINDENT

RUN <<-UNINDENT2
\tbaz
\tquux
\tUNINDENT2

RUN <<-EXPAND
\texpand $NAME
EXPAND

RUN <<-'NOEXPAND'
\tdon't expand $NAME
NOEXPAND

RUN <<COPY
echo hello world
echo foo bar
COPY

RUN <<COMMENT
# internal comment
echo hello world
echo foo bar # trailing comment
COMMENT

RUN --mount=type=cache,target=/foo <<MOUNT
echo hello
MOUNT

COPY <<FILE1 <<FILE2 /dest
content 1
FILE1
content 2
FILE2

COPY <<X <<Y /dest
Y
X
X
Y
\t"""

HEREDOC_EXPECTED: list[list[Heredoc]] = [
    [],  # ENV
    [],  # RUN ls
    [],  # USER <<INVALID
    [],  # INVALID
    [Heredoc("EMPTY", "", True, False)],
    [Heredoc("EMPTY2", "", True, False, fd=3)],
    [],  # RUN "<<NOHEREDOC"
    [Heredoc("INDENT", "\tfoo\n\tbar\n", True, False)],
    [Heredoc("UNINDENT", "\tbaz\n\tquux\n", True, True)],
    [Heredoc("UNINDENT2", "\tbaz\n\tquux\n", True, True)],
    [Heredoc("EXPAND", "\texpand $NAME\n", True, True)],
    [Heredoc("NOEXPAND", "\tdon't expand $NAME\n", False, True)],
    [Heredoc("COPY", "echo hello world\necho foo bar\n", True, False)],
    [
        Heredoc(
            "COMMENT",
            "# internal comment\necho hello world\necho foo bar # trailing comment\n",
            True,
            False,
        )
    ],
    [Heredoc("MOUNT", "echo hello\n", True, False)],
    [Heredoc("FILE1", "content 1\n", True, False), Heredoc("FILE2", "content 2\n", True, False)],
    [Heredoc("X", "Y\n", True, False), Heredoc("Y", "X\n", True, False)],
]


def test_heredocs_extracted_like_buildkit() -> None:
    parsed = parse(HEREDOC_FILE)
    assert len(parsed.nodes) == len(HEREDOC_EXPECTED) + 1
    for node, expected in zip(parsed.nodes[1:], HEREDOC_EXPECTED, strict=True):
        assert list(node.heredocs) == expected, node.original


def test_heredoc_line_ranges_cover_the_body() -> None:
    parsed = parse("FROM a\nRUN <<EOF\necho 1\necho 2\nEOF\nRUN true\n")
    assert [(n.start_line, n.end_line) for n in parsed.nodes] == [(1, 1), (2, 5), (6, 6)]


def test_heredocs_are_not_in_the_dump() -> None:
    parsed = parse("FROM a\nCOPY <<EOF /x\nhello\nEOF\n")
    assert dump(parsed) == '(from "a")\n(copy "<<EOF" "/x")\n'


def test_chomped_text() -> None:
    parsed = parse("FROM a\nRUN <<-EOF\n\tone\n\t\ttwo\n\tEOF\n")
    assert parsed.nodes[1].heredocs[0].text == "one\ntwo\n"


def test_json_form_has_no_heredocs() -> None:
    parsed = parse('FROM alpine\nRUN ["whoami"]\nRUN ["<<EOF"]\nRUN ["<<\'EOF\'"]\n')
    assert all(node.heredocs == () for node in parsed.nodes)


def test_onbuild_trigger_heredoc() -> None:
    parsed = parse("FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\n")
    assert parsed.nodes[1].heredocs == (Heredoc("EOF", "echo hi\n", True, False),)
    assert dump(parsed) == '(from "a")\n(onbuild (run "<<EOF"))\n'


@pytest.mark.parametrize("word", ["<<EOF", "<<'EOF'", '<<"EOF"', "<<-EOF", "<<-'EOF'", '<<-"EOF"'])
def test_valid_heredoc_words(word: str) -> None:
    heredoc = parse_heredoc_word(word)
    assert heredoc is not None
    assert heredoc.name == "EOF"
    assert heredoc.expand == ("'" not in word and '"' not in word)
    assert heredoc.chomp == ("-" in word)


@pytest.mark.parametrize("word", ["", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<'EOF", "<<EOF'"])
def test_not_heredoc_words(word: str) -> None:
    assert parse_heredoc_word(word) is None


def test_partly_quoted_delimiter_disables_expansion() -> None:
    heredoc = parse_heredoc_word('<<E"O"F')
    assert heredoc is not None
    assert (heredoc.name, heredoc.expand) == ("EOF", False)


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ("RUN <<EOF", ["EOF"]),
        ("RUN <<-EOF", ["EOF"]),
        ("RUN <<'EOF'", ["EOF"]),
        ("RUN 4<<EOF", ["EOF"]),
        ("RUN <<EOF <<EOF2", ["EOF", "EOF2"]),
        ("RUN '<<EOF'", []),
        ('RUN "<<EOF"', []),
        ("RUN cat <<EOF > /file", ["EOF"]),
        ('RUN echo "it\'s" <<EOF', ["EOF"]),
        ("RUN echo 'unterminated <<EOF", []),
    ],
)
def test_heredocs_from_line(line: str, names: list[str]) -> None:
    assert [h.name for h in heredocs_from_line(line)] == names


def test_unterminated_heredoc() -> None:
    with pytest.raises(DockerfileError) as caught:
        parse("FROM a\nRUN <<EOF\necho hi\n", "Dockerfile")
    assert str(caught.value).startswith("Dockerfile:2: unterminated heredoc")


# --- directives ---------------------------------------------------------------


def test_directives_are_collected() -> None:
    parsed = parse("# syntax=docker/dockerfile:1\n# check=skip=all\n# escape=`\nFROM a\n")
    assert parsed.syntax == "docker/dockerfile:1"
    assert parsed.check == "skip=all"
    assert parsed.escape == "`"
    assert [d.line for d in parsed.directives] == [1, 2, 3]


def test_directive_after_instruction_is_a_comment() -> None:
    parsed = parse("FROM a\n# escape=`\nRUN a \\\n  b\n")
    assert parsed.escape == "\\"
    assert parsed.directives == ()
    assert parsed.nodes[1].args == ("a   b",)


def test_directive_after_blank_line_is_a_comment() -> None:
    assert parse("\n# escape=`\nFROM a\n").escape == "\\"


def test_unknown_directive_ends_the_section() -> None:
    parsed = parse("# foo=bar\n# escape=`\nFROM a\n")
    assert parsed.escape == "\\"


def test_directive_keys_are_case_insensitive_with_spaces() -> None:
    parsed = parse("#  ESCAPE =  `  \nFROM a\n")
    assert parsed.escape == "`"


def test_duplicate_directive() -> None:
    with pytest.raises(DockerfileError, match=r"Dockerfile:2: only one escape parser directive"):
        parse("# escape=\\\n# escape=`\nFROM a\n")


def test_invalid_escape_value() -> None:
    with pytest.raises(DockerfileError, match="invalid escape token"):
        parse("# escape=x\nFROM a\n")


def test_backtick_escape_continues_lines() -> None:
    parsed = parse("# escape=`\nFROM a\nRUN dir c:\\ `\n  /s\n")
    assert parsed.nodes[1].args == ("dir c:\\   /s",)


def test_bom_is_removed() -> None:
    assert dump(parse(b"\xef\xbb\xbfFROM a\n")) == '(from "a")\n'


# --- logical lines ---------------------------------------------------------------


def test_comments_inside_continuation_and_empty_line_warning() -> None:
    parsed = parse("FROM a\nRUN one \\\n# comment\n\n  two\n")
    assert parsed.nodes[1].args == ("one   two",)
    assert parsed.nodes[1].end_line == 5
    assert [w.message for w in parsed.warnings] == [
        "Empty continuation line found in: RUN one   two"
    ]


def test_comments_before_an_instruction_are_kept() -> None:
    parsed = parse("FROM a\n# first\n# second\nRUN x\n")
    assert parsed.nodes[1].comments == ("first", "second")


def test_crlf_line_endings() -> None:
    assert dump(parse(b"FROM a\r\nRUN b \\\r\n c\r\n")) == '(from "a")\n(run "b  c")\n'


def test_max_line_length() -> None:
    with pytest.raises(DockerfileError, match="max allowed size of 65535"):
        parse("FROM a\nRUN " + "x" * 70000 + "\n")


def test_unknown_instruction_is_kept_by_the_parser() -> None:
    assert dump(parse("FROM a\nRUNN x\n")) == '(from "a")\n(runn "")\n'


def test_invalid_utf8_is_dumped_as_bytes() -> None:
    assert dump(parse(b"FROM a\nRUN echo \xff\n")) == '(from "a")\n(run "echo \\xff")\n'


def test_invalid_json_falls_back_to_shell_form() -> None:
    parsed = parse("FROM a\nCMD [\"a\", 'b']\n")
    assert parsed.nodes[1].args == ("[\"a\", 'b']",)
    assert not parsed.nodes[1].is_json


def test_json_with_trailing_text_is_json() -> None:
    parsed = parse('FROM a\nCMD ["a"] trailing\n')
    assert parsed.nodes[1].args == ("a",)
    assert parsed.nodes[1].is_json


def test_json_nan_is_not_json() -> None:
    parsed = parse("FROM a\nCMD [NaN]\n")
    assert parsed.nodes[1].args == ("[NaN]",)


# --- flags --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "flags", "args"),
    [
        ("COPY --from=build --chown=1:1 a b", ("--from=build", "--chown=1:1"), ("a", "b")),
        ('COPY --chown="a b" x y', ("--chown=a b",), ("x", "y")),
        ("COPY --link -- --weird /dst", ("--link",), ("--weird", "/dst")),
        (
            "RUN --mount=type=cache,target=/x echo hi",
            ("--mount=type=cache,target=/x",),
            ("echo hi",),
        ),
        ("COPY --esc=a\\ b x y", ("--esc=a b",), ("x", "y")),
        ("HEALTHCHECK --interval=5s NONE", ("--interval=5s",), ("NONE",)),
        ("COPY --only", ("--only",), ()),
    ],
)
def test_flags(line: str, flags: tuple[str, ...], args: tuple[str, ...]) -> None:
    node = parse(f"FROM a\n{line}\n").nodes[1]
    assert (node.flags, node.args) == (flags, args)


def test_onbuild_nested_flags_dump() -> None:
    parsed = parse("FROM a\nONBUILD COPY --from=x a b\nONBUILD\n")
    assert dump(parsed) == '(from "a")\n(onbuild (copy ["--from=x"] "a" "b"))\n(onbuild)\n'


def test_arg_words_keep_quotes() -> None:
    node = parse('FROM a\nARG abc="123 456" def\n').nodes[1]
    assert node.args == ('abc="123 456"', "def")
