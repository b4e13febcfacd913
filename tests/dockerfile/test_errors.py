"""The errors people see: ``Dockerfile:LINE: what (hint)``, one test per error."""

from __future__ import annotations

import pytest

from dockyard.dockerfile.parser import parse
from dockyard.dockerfile.stages import load_dockerfile
from dockyard.errors import DockerfileError


def error_of(text: str, **options: object) -> str:
    with pytest.raises(DockerfileError) as caught:
        load_dockerfile(text, **options)  # type: ignore[arg-type]
    return str(caught.value)


def test_unknown_instruction() -> None:
    assert error_of("FROM a\nRUNN make\n") == (
        "Dockerfile:2: unknown instruction: RUNN (did you mean RUN?)"
    )


def test_unknown_instruction_far_from_any() -> None:
    message = error_of("FROM a\nXYZZY make\n")
    assert message.startswith("Dockerfile:2: unknown instruction: XYZZY (instructions are: ADD ARG")


def test_unknown_flag_lists_valid_flags() -> None:
    assert error_of("FROM a\nCOPY --chmodd=755 a b\n") == (
        "Dockerfile:2: unknown flag: --chmodd (did you mean --chmod? valid flags for COPY: "
        "--chmod, --chown, --exclude, --from, --link, --parents)"
    )


def test_copy_with_one_argument() -> None:
    assert error_of("FROM a\nCOPY app.py\n") == (
        "Dockerfile:2: COPY requires at least two arguments, but only one was provided. "
        "Destination could not be determined. (add the destination, e.g. COPY app.py /app/)"
    )


def test_bad_json_is_an_error_where_buildkit_errors() -> None:
    assert error_of('FROM a\nCMD ["echo", 1]\n') == (
        "Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only"
        " (found 1; quote it or use the shell form)"
    )


def test_bad_json_otherwise_warns_with_the_character() -> None:
    parsed = parse("FROM a\nCMD [\"echo\", 'hi']\n")
    assert parsed.nodes[1].args == ("[\"echo\", 'hi']",)
    (warning,) = parsed.warnings
    assert warning.line == 2
    assert "at character 10" in warning.message
    assert "shell form" in warning.message


def test_unterminated_heredoc() -> None:
    assert error_of("FROM a\nRUN <<EOF\necho hi\n") == (
        "Dockerfile:2: unterminated heredoc (end the here-document with a line containing only EOF)"
    )


def test_required_variable_message_at_expansion() -> None:
    df = load_dockerfile("FROM a\nARG DIR\nWORKDIR ${DIR:?set DIR with --build-arg}\n")
    with pytest.raises(DockerfileError) as caught:
        for _ in df.steps(df.target, df.initial_scope(df.target)):
            pass
    assert str(caught.value).startswith("Dockerfile:3: ")
    assert "set DIR with --build-arg" in str(caught.value)


def test_arg_used_in_from_before_declared() -> None:
    assert error_of("FROM img:$TAG\nARG TAG=1\n") == (
        "Dockerfile:1: FROM uses $TAG, but ARG TAG is not declared before it "
        "(ARG TAG is declared on line 2 inside a stage; declare it before the first FROM "
        "to use it in FROM lines)"
    )


def test_arg_never_declared_in_from() -> None:
    assert error_of("FROM img:$TAG\n") == (
        "Dockerfile:1: FROM uses $TAG, but ARG TAG is not declared before it "
        "(add 'ARG TAG' before the first FROM)"
    )


def test_blank_base_name() -> None:
    assert error_of("ARG IMG\nFROM $IMG\n").startswith(
        "Dockerfile:2: base name ($IMG) should not be blank"
    )


def test_from_missing() -> None:
    assert error_of("RUN echo hi\nFROM a\n") == (
        "Dockerfile:1: RUN before the first FROM "
        "(a build stage starts with FROM; only ARG may come before it)"
    )


def test_only_args() -> None:
    assert error_of("ARG A=1\n").startswith("Dockerfile:1: the Dockerfile has no FROM instruction")


def test_empty_dockerfile() -> None:
    assert error_of("") == (
        "Dockerfile:1: file with no instructions (a Dockerfile needs at least a FROM instruction)"
    )


def test_filename_in_messages() -> None:
    with pytest.raises(DockerfileError, match=r"^app\.Dockerfile:2: "):
        load_dockerfile("FROM a\nRUNN x\n", "app.Dockerfile")
