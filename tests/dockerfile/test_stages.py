"""Stages, ARG scoping and expansion with the environment before each instruction."""

from __future__ import annotations

import pytest

from dockyard.dockerfile.commands import Add, Arg, Copy, Env, Expose, Label, Run, User, Workdir
from dockyard.dockerfile.stages import (
    Dockerfile,
    Scope,
    Stage,
    Step,
    load_dockerfile,
    platform_args,
)
from dockyard.errors import DockerfileError, WordExpansionError

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # BuildKit's


def walk(
    dockerfile: Dockerfile, stage: Stage | None = None, env: tuple[str, ...] = ()
) -> list[Step]:
    stage = stage or dockerfile.target
    return list(dockerfile.steps(stage, dockerfile.initial_scope(stage, env)))


def final_scope(dockerfile: Dockerfile, stage: Stage | None = None) -> Scope:
    return walk(dockerfile, stage)[-1].after


def test_stages_and_names() -> None:
    df = load_dockerfile("FROM alpine AS Build\nRUN x\nFROM build\nFROM debian AS out\n")
    assert [(s.index, s.name, s.base, s.base_stage) for s in df.stages] == [
        (0, "build", "alpine", None),
        (1, None, "build", 0),
        (2, "out", "debian", None),
    ]
    assert df.target.index == 2
    assert load_dockerfile("FROM a AS x\nFROM b\n", target="X").target.name == "x"


def test_unknown_target() -> None:
    with pytest.raises(DockerfileError, match="target stage 'nope' could not be found"):
        load_dockerfile("FROM a AS x\n", target="nope")


def test_env_sees_environment_before_the_instruction() -> None:
    steps = walk(load_dockerfile("FROM a\nENV A=1 B=$A\nENV C=$A\n"))
    first, second = (s.instruction for s in steps)
    assert isinstance(first, Env) and isinstance(second, Env)
    assert [(p.key, p.value) for p in first.pairs] == [("A", "1"), ("B", "")]
    assert second.pairs[0].value == "1"


def test_global_arg_only_in_from_unless_redeclared() -> None:
    text = "ARG V=1.0\nFROM img:$V\nRUN echo\nENV X=$V\nARG V\nENV Y=$V\n"
    df = load_dockerfile(text)
    assert df.target.base == "img:1.0"
    steps = walk(df)
    assert isinstance(steps[1].instruction, Env)
    assert steps[1].instruction.pairs[0].value == ""
    assert isinstance(steps[3].instruction, Env)
    assert steps[3].instruction.pairs[0].value == "1.0"


def test_build_arg_overrides_defaults() -> None:
    text = "ARG V=1\nFROM img:$V\nARG V\nARG W=default\nENV OUT=$V-$W\n"
    df = load_dockerfile(text, build_args={"V": "2", "W": "given"})
    assert df.target.base == "img:2"
    scope = final_scope(df)
    assert scope.env["OUT"] == "2-given"
    assert dict(scope.args) == {"V": "2", "W": "given"}


def test_arg_default_is_expanded_and_env_overrides_arg() -> None:
    text = "FROM a\nENV BASE=/opt\nARG DIR=$BASE/app\nARG V=1\nENV V=2\nRUN echo\nWORKDIR $DIR/$V\n"
    steps = walk(load_dockerfile(text))
    workdir = steps[-1].instruction
    assert isinstance(workdir, Workdir)
    assert workdir.path == "/opt/app/2"
    assert steps[-1].before.image_env == {"PATH": DEFAULT_PATH, "BASE": "/opt", "V": "2"}
    assert steps[-1].before.args == {"DIR": "/opt/app", "V": "1"}


def test_declared_arg_without_value_is_unset() -> None:
    scope = final_scope(load_dockerfile("FROM a\nARG NOPE\nRUN x\n"))
    assert "NOPE" not in scope.env


def test_stage_inherits_base_stage_env_and_args() -> None:
    df = load_dockerfile("FROM a AS base\nARG A=1\nENV E=2\nFROM base\nRUN x\n")
    base_scope = final_scope(df, df.stages[0])
    child = df.initial_scope(df.stages[1], parent=base_scope)
    assert (child.env["A"], child.env["E"], child.args["A"]) == ("1", "2", "1")


def test_base_image_env_is_the_starting_environment() -> None:
    df = load_dockerfile("FROM a\nENV PATH=/x:$PATH\n")
    steps = walk(df, env=("PATH=/usr/bin", "HOME=/root"))
    assert steps[0].after.env["PATH"] == "/x:/usr/bin"
    assert list(steps[0].after.image_env) == ["PATH", "HOME"]


def test_platform_args() -> None:
    text = "FROM --platform=$BUILDPLATFORM img-$TARGETARCH\nARG TARGETOS TARGETVARIANT\nRUN x\n"
    df = load_dockerfile(text, target_platform="linux/arm/v7", build_platform="linux/amd64")
    assert (df.target.base, df.target.platform) == ("img-arm", "linux/amd64")
    scope = final_scope(df)
    assert (scope.env["TARGETOS"], scope.env["TARGETVARIANT"]) == ("linux", "v7")
    assert "TARGETARCH" not in scope.env
    assert platform_args("linux/amd64", "linux/amd64")["TARGETVARIANT"] == ""


def test_proxy_args_need_no_declaration_and_stay_out_of_args() -> None:
    df = load_dockerfile(
        "FROM a\nRUN x\n", build_args={"HTTP_PROXY": "http://p:3128", "OTHER": "1"}
    )
    scope = final_scope(df)
    assert scope.proxy_args == {"HTTP_PROXY": "http://p:3128"}
    assert scope.run_env()["HTTP_PROXY"] == "http://p:3128"
    assert "HTTP_PROXY" not in scope.args
    assert df.unused_build_args() == ("OTHER",)


def test_expansion_per_instruction() -> None:
    text = (
        "FROM a\n"
        f"ENV D=/dst U=app P='8080 9090' F=build M=0755 H={'ab' * 32}\n"
        "COPY --from=$F --chown=$U --chmod=$M src-$U $D/\n"
        f"ADD --checksum=sha256:$H http://x/$U.tgz $D\n"
        "EXPOSE $P 22\n"
        "LABEL $U=$D\n"
        "USER $U\n"
        "RUN --mount=type=cache,target=$D/cache,id=$U echo $U\n"
        "CMD echo $U\n"
    )
    steps = walk(load_dockerfile(text))
    copy, add, expose, label, user, run, cmd = (s.instruction for s in steps[1:])
    assert isinstance(copy, Copy)
    assert (copy.from_, copy.chown, copy.chmod, copy.sources, copy.dest) == (
        "$F",  # BuildKit never expands COPY --from: it names a stage or an image
        "app",
        "0755",
        ("src-app",),
        "/dst/",
    )
    assert isinstance(add, Add)
    assert (add.checksum, add.sources) == ("sha256:" + "ab" * 32, ("http://x/app.tgz",))
    assert isinstance(expose, Expose)
    assert expose.ports == ("8080", "9090", "22")
    assert isinstance(label, Label)
    assert (label.pairs[0].key, label.pairs[0].value) == ("app", "/dst")
    assert isinstance(user, User)
    assert user.user == "app"
    assert isinstance(run, Run)
    assert run.command == ("echo $U",)
    assert (run.mounts[0].target, run.mounts[0].id) == ("/dst/cache", "app")
    assert cmd.original == "CMD echo $U"


def test_heredoc_source_expansion_keeps_quotes() -> None:
    text = "FROM a\nENV NAME=me\nCOPY <<EOF <<'RAW' /dst/\nhi \"$NAME\"\nEOF\nhi $NAME\nRAW\n"
    copy = walk(load_dockerfile(text))[-1].instruction
    assert isinstance(copy, Copy)
    assert [c.data for c in copy.contents] == ['hi "me"\n', "hi $NAME\n"]


def test_arg_expansion_error_has_location() -> None:
    df = load_dockerfile('FROM a\nARG X\nENV Y="${X:?X must be set}"\n')
    with pytest.raises(WordExpansionError) as caught:
        walk(df)
    assert str(caught.value).startswith("Dockerfile:3: ")
    assert "X must be set" in str(caught.value)


def test_stages_needed() -> None:
    text = (
        "FROM a AS one\nFROM b AS two\nFROM c AS three\n"
        "COPY --from=one /a /a\nRUN --mount=type=bind,from=two,target=/t x\n"
        "FROM d AS unrelated\nFROM three AS final\n"
    )
    df = load_dockerfile(text)
    assert [s.name for s in df.stages_needed()] == ["one", "two", "three", "final"]
    assert [s.name for s in load_dockerfile(text, target="two").stages_needed()] == ["two"]


def test_copy_from_index() -> None:
    df = load_dockerfile("FROM a\nFROM b\nCOPY --from=0 /x /y\n")
    assert [s.index for s in df.stages_needed()] == [0, 1]


def test_meta_args_see_earlier_meta_args() -> None:
    df = load_dockerfile("ARG A=1\nARG B=$A-2\nFROM img:$B\n")
    assert df.target.base == "img:1-2"
    assert isinstance(df.meta_args[0], Arg)


def test_arg_in_from_with_default_operator_is_fine() -> None:
    assert load_dockerfile("FROM img:${TAG:-latest}\n").target.base == "img:latest"


def test_arg_values_resolve_left_to_right() -> None:
    steps = walk(load_dockerfile("FROM a\nARG A=1 B=$A\nENV C=$B\n"))
    arg = steps[0].instruction
    assert isinstance(arg, Arg)
    assert [(d.name, d.default) for d in arg.args] == [("A", "1"), ("B", "1")]
    assert steps[1].after.env["C"] == "1"


def test_build_arg_skips_the_default() -> None:
    text = "FROM a\nARG X=${NOPE:?never evaluated}\nENV Y=$X\n"
    steps = walk(load_dockerfile(text, build_args={"X": "given"}))
    assert steps[-1].after.env["Y"] == "given"


def test_arg_after_env_overrides_it_in_the_environment_only() -> None:
    scope = final_scope(load_dockerfile("FROM a\nENV V=env\nARG V=arg\nRUN x\n"))
    assert (scope.env["V"], scope.image_env["V"]) == ("arg", "env")


def test_default_path_is_added_when_the_base_has_none() -> None:
    df = load_dockerfile("FROM scratch\nRUN x\n")
    assert df.initial_scope(df.target).image_env == {"PATH": DEFAULT_PATH}
    kept = df.initial_scope(df.target, ("PATH=/bin",))
    assert kept.env["PATH"] == "/bin"


def test_copy_from_a_later_stage_is_an_error() -> None:
    with pytest.raises(DockerfileError, match="cannot copy from stage 'later'"):
        load_dockerfile("FROM a AS first\nCOPY --from=later /x /y\nFROM b AS later\n")
    with pytest.raises(DockerfileError, match="invalid stage index 5"):
        load_dockerfile("FROM a\nFROM b\nCOPY --from=5 /x /y\n")


def test_duplicate_stage_names_warn_and_the_latest_wins() -> None:
    df = load_dockerfile("FROM a AS x\nFROM b AS x\nFROM x\n")
    assert df.stages[2].base_stage == 1
    assert [w.message for w in df.warnings] == [
        "Duplicate stage name 'x', stage names should be unique"
    ]


def test_stage_base_names_are_matched_as_written() -> None:
    df = load_dockerfile("FROM a AS build\nFROM Build\n")
    assert df.stages[1].base_stage is None  # BuildKit looks the base up without lower-casing


def test_add_checksum_must_be_a_digest() -> None:
    df = load_dockerfile("FROM a\nARG SUM=sha256:abc\nADD --checksum=$SUM http://x/y /y\n")
    with pytest.raises(DockerfileError, match="invalid checksum digest format"):
        walk(df)
