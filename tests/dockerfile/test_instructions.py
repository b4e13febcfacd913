"""Typed instructions: arguments and every flag BuildKit accepts, per instruction."""

from __future__ import annotations

import pytest

from dockyard.dockerfile.chmod import Chmod
from dockyard.dockerfile.commands import (
    Add,
    Arg,
    ArgDef,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Instruction,
    KeyValue,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    SourceContent,
    Stopsignal,
    User,
    Volume,
    Workdir,
)
from dockyard.dockerfile.gotext import parse_go_duration
from dockyard.dockerfile.instructions import parse_instruction
from dockyard.dockerfile.mounts import Mount
from dockyard.dockerfile.parser import parse
from dockyard.errors import DockerfileError


def one(line: str) -> Instruction:
    parsed = parse(f"FROM scratch\n{line}\n")
    return parse_instruction(parsed.nodes[1])


def fails(line: str, match: str) -> DockerfileError:
    with pytest.raises(DockerfileError, match=match) as caught:
        one(line)
    return caught.value


def test_location_and_original() -> None:
    instruction = one("RUN echo \\\n  hi")
    assert (instruction.location.start_line, instruction.location.end_line) == (2, 3)
    assert instruction.original == "RUN echo   hi"


def test_from() -> None:
    parsed = parse("FROM --platform=linux/arm64 debian:12 AS Build\n")
    instruction = parse_instruction(parsed.nodes[0])
    assert isinstance(instruction, From)
    assert (instruction.base, instruction.name, instruction.platform) == (
        "debian:12",
        "build",
        "linux/arm64",
    )


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("FROM a b", "one or three arguments"),
        ("FROM a AS 1x", "invalid name for build stage"),
        ("FROM --plat=x a", "unknown flag: --plat"),
    ],
)
def test_from_errors(line: str, match: str) -> None:
    with pytest.raises(DockerfileError, match=match):
        parse_instruction(parse(line + "\n").nodes[0])


def test_run_shell_and_exec_form() -> None:
    shell = one("RUN echo hi")
    assert isinstance(shell, Run)
    assert (shell.command, shell.shell_form) == (("echo hi",), True)
    exec_form = one('RUN ["echo", "hi"]')
    assert isinstance(exec_form, Run)
    assert (exec_form.command, exec_form.shell_form) == (("echo", "hi"), False)


def test_run_flags() -> None:
    run = one(
        "RUN --network=none --security=insecure "
        "--mount=type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0700,uid=1,gid=2 "
        "--mount=type=secret,id=token,required "
        "--mount=type=ssh "
        "--mount=type=tmpfs,target=/tmp,size=64m "
        "--mount=type=bind,from=build,source=/out,target=/in,rw "
        "--mount=type=secret,id=aws,env=AWS_KEY "
        "make"
    )
    assert isinstance(run, Run)
    assert (run.network, run.security) == ("none", "insecure")
    assert run.mounts == (
        Mount("cache", "/root/.cache", None, None, False, "pip", "locked", False, 0o700, 1, 2),
        Mount("secret", "/run/secrets/token", None, None, True, "token", None, True),
        Mount("ssh", None, None, None, True, "default"),
        Mount("tmpfs", "/tmp", read_only=False, size=64 << 20),
        Mount("bind", "/in", "/out", "build", False),
        Mount("secret", None, None, None, True, "aws", env="AWS_KEY"),
    )


@pytest.mark.parametrize(
    ("mount", "match"),
    [
        ("type=volume,target=/x", "unsupported mount type"),
        ("type=bind,target=/x,mode=0700", "mode not allowed"),
        ("type=bind,target=/x,sharing=locked", "invalid cache sharing"),
        ("type=cache,target=/x,sharing=sometimes", "unsupported sharing value"),
        ("type=cache,target=/x,uid=abc", "invalid value abc for uid"),
        ("type=cache,target=/x,mode=999", "invalid value 999 for mode"),
        ("type=bind,target=/x,required", "unexpected key 'required'"),
        ("type=cache,targt=/x", "unexpected key 'targt'"),
        ("type=cache", "needs a target"),
        ("type=secret", "one of source, target required"),
        ("type=secret,id=a,from=b", "should not have a from"),
        ("type=bind,from=$STAGE,target=/x", "doesn't support variable expansion"),
        ("type=bind,target=/x,ro=maybe", "invalid value for ro"),
        ("type=cache,target=/x,size=1m", "size not allowed"),
    ],
)
def test_run_mount_errors(mount: str, match: str) -> None:
    fails(f"RUN --mount={mount} true", match)


def test_run_network_and_security_values() -> None:
    fails("RUN --network=bridge true", "unsupported network mode")
    fails("RUN --security=privileged true", "unsupported security mode")


def test_run_heredocs_are_kept() -> None:
    parsed = parse("FROM a\nRUN <<EOF\necho hi\nEOF\n")
    run = parse_instruction(parsed.nodes[1])
    assert isinstance(run, Run)
    assert run.command == ("<<EOF",)
    assert run.heredocs[0].content == "echo hi\n"


def test_cmd_entrypoint_shell() -> None:
    assert one('CMD ["a", "b"]') == Cmd(
        command=("a", "b"),
        shell_form=False,
        location=one("CMD x").location,
        original='CMD ["a", "b"]',
    )
    entrypoint = one("ENTRYPOINT exec app")
    assert isinstance(entrypoint, Entrypoint)
    assert (entrypoint.command, entrypoint.shell_form) == (("exec app",), True)
    shell = one('SHELL ["/bin/bash", "-c"]')
    assert isinstance(shell, Shell)
    assert shell.shell == ("/bin/bash", "-c")
    fails("SHELL /bin/bash -c", "SHELL requires the arguments to be in JSON form")


def test_env_both_forms() -> None:
    legacy = one("ENV NAME some value")
    assert isinstance(legacy, Env)
    assert legacy.pairs == (KeyValue("NAME", "some value"),)
    modern = one('ENV A=1 B="two words"')
    assert isinstance(modern, Env)
    assert modern.pairs == (KeyValue("A", "1"), KeyValue("B", '"two words"'))
    label = one('LABEL org.opencontainers.image.title="x y" a=b')
    assert isinstance(label, Label)
    assert [p.key for p in label.pairs] == ["org.opencontainers.image.title", "a"]
    fails("ENV", "ENV requires at least one argument")
    fails("ENV =x", "ENV names can not be blank")
    fails("ENV A=1 B", "can't find = in 'B'")


def test_arg() -> None:
    arg = one('ARG A B=2 C="x y"')
    assert isinstance(arg, Arg)
    assert arg.args == (ArgDef("A", None), ArgDef("B", "2"), ArgDef("C", '"x y"'))
    fails("ARG", "ARG requires at least one argument")
    fails("ARG =1", "ARG names can not be blank")


def test_copy_flags() -> None:
    copy = one(
        "COPY --from=build --chown=app:app --chmod=0755 --link --parents "
        "--exclude=*.md --exclude=tests a b /dst/"
    )
    assert isinstance(copy, Copy)
    assert (copy.sources, copy.dest, copy.from_, copy.chown, copy.chmod) == (
        ("a", "b"),
        "/dst/",
        "build",
        "app:app",
        "0755",
    )
    assert (copy.link, copy.parents, copy.excludes) == (True, True, ("*.md", "tests"))


def test_copy_link_false_and_symbolic_chmod() -> None:
    copy = one("COPY --link=false --chmod=u+x,go-w a /b")
    assert isinstance(copy, Copy)
    assert (copy.link, copy.chmod) == (False, "u+x,go-w")


def test_copy_heredoc_source() -> None:
    parsed = parse("FROM a\nCOPY <<-EOF <<'RAW' x /dst/\n\thello $X\nEOF\n$Y\nRAW\n")
    copy = parse_instruction(parsed.nodes[1])
    assert isinstance(copy, Copy)
    assert copy.sources == ("x",)
    assert copy.contents == (
        SourceContent("EOF", "hello $X\n", True),
        SourceContent("RAW", "$Y\n", False),
    )


def test_add_flags() -> None:
    add = one(
        "ADD --chown=1:1 --chmod=600 --link --keep-git-dir=true "
        f"--checksum=sha256:{'ab' * 32} --unpack=false --exclude=x https://e.com/a.tar /a"
    )
    assert isinstance(add, Add)
    assert (add.chown, add.chmod, add.link, add.keep_git_dir) == ("1:1", "600", True, True)
    assert (add.checksum, add.unpack, add.excludes) == ("sha256:" + "ab" * 32, False, ("x",))
    plain = one("ADD a /b")
    assert isinstance(plain, Add)
    assert plain.unpack is None


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("COPY a", "requires at least two arguments"),
        ("COPY --chmodd=755 a b", "unknown flag: --chmodd"),
        ("COPY --from a b", "Missing a value on flag: --from"),
        ("COPY --link=maybe a b", "Expecting boolean value"),
        ("COPY --link= a b", "Missing a value on flag: --link"),
        ("COPY --from=a --from=b a b", "Duplicate flag specified: --from"),
        ("COPY --chmod=abc a b", "invalid chmod"),
        ("COPY a <<EOF\nx\nEOF", "heredoc as a destination"),
        ("ADD --from=x a b", "unknown flag: --from"),
        ("ADD a", "requires at least two arguments"),
        ("ADD --checksum=sha256:abc http://x/y /y", "invalid checksum digest format"),
        ("ADD --checksum=md5:" + "a" * 32 + " http://x/y /y", "invalid checksum digest format"),
    ],
)
def test_copy_add_errors(line: str, match: str) -> None:
    fails(line, match)


def test_unknown_flag_lists_valid_flags() -> None:
    error = fails("COPY --chmodd=755 a b", "unknown flag")
    assert error.hint is not None
    assert "did you mean --chmod?" in error.hint
    assert "--chown" in error.hint and "--parents" in error.hint


def test_healthcheck() -> None:
    check = one(
        "HEALTHCHECK --interval=30s --timeout=1m --start-period=1.5s --start-interval=5s "
        "--retries=3 CMD curl -f http://x/"
    )
    assert isinstance(check, Healthcheck)
    assert check.test == ("CMD-SHELL", "curl -f http://x/")
    assert (check.interval_ns, check.timeout_ns, check.start_period_ns) == (
        30 * 10**9,
        60 * 10**9,
        1_500_000_000,
    )
    assert (check.start_interval_ns, check.retries) == (5 * 10**9, 3)
    exec_form = one('HEALTHCHECK CMD ["curl", "x"]')
    assert isinstance(exec_form, Healthcheck)
    assert exec_form.test == ("CMD", "curl", "x")
    none = one("HEALTHCHECK NONE")
    assert isinstance(none, Healthcheck)
    assert none.test == ("NONE",)


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("HEALTHCHECK", "requires at least one argument"),
        ("HEALTHCHECK NONE x", "takes no arguments"),
        ("HEALTHCHECK CONNECT TCP 7000", 'Unknown type "CONNECT"'),
        ("HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD"),
        ("HEALTHCHECK --interval=5 CMD x", "missing unit"),
        ("HEALTHCHECK --interval=1us CMD x", "cannot be less than 1ms"),
        ("HEALTHCHECK --retries=-1 CMD x", "cannot be negative"),
        ("HEALTHCHECK --retries=x CMD x", "invalid number"),
    ],
)
def test_healthcheck_errors(line: str, match: str) -> None:
    fails(line, match)


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [("0", 0), ("1h30m", 5400 * 10**9), ("1.5s", 1_500_000_000), ("300ms", 3 * 10**8),
     ("2us", 2000), ("1µs", 1000), ("-1s", -(10**9)), ("1h1m1s1ms1us1ns", 3661001001001)],
)  # fmt: skip
def test_go_durations(text: str, nanoseconds: int) -> None:
    assert parse_go_duration(text) == nanoseconds


@pytest.mark.parametrize("text", ["", "1", "s", "1x", "1.s.", ".s"])
def test_bad_go_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_go_duration(text)


def test_simple_instructions() -> None:
    expose = one("EXPOSE 8080/udp 80")
    assert isinstance(expose, Expose)
    assert expose.ports == ("80", "8080/udp")
    volume = one('VOLUME ["/a", "/b"]')
    assert isinstance(volume, Volume)
    assert volume.paths == ("/a", "/b")
    user = one("USER app:app")
    assert isinstance(user, User)
    assert user.user == "app:app"
    workdir = one("WORKDIR /srv/app")
    assert isinstance(workdir, Workdir)
    assert workdir.path == "/srv/app"
    signal = one("STOPSIGNAL SIGKILL")
    assert isinstance(signal, Stopsignal)
    assert signal.signal == "SIGKILL"
    maintainer = one("MAINTAINER Jane <j@e.com>")
    assert isinstance(maintainer, Maintainer)
    assert maintainer.name == "Jane <j@e.com>"


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("EXPOSE", "EXPOSE requires at least one argument"),
        ("VOLUME", "VOLUME requires at least one argument"),
        ('VOLUME [""]', "can not be an empty string"),
        ("USER", "USER requires exactly one argument"),
        ("WORKDIR", "WORKDIR requires exactly one argument"),
        ("STOPSIGNAL", "STOPSIGNAL requires exactly one argument"),
        ("MAINTAINER", "MAINTAINER requires exactly one argument"),
        ("USER --x=1 a", "unknown flag: --x"),
        ("WORKDIR --x=1 /a", "USER takes no flags|WORKDIR takes no flags|unknown flag"),
    ],
)
def test_simple_instruction_errors(line: str, match: str) -> None:
    fails(line, match)


def test_onbuild() -> None:
    onbuild = one("ONBUILD COPY --from=x a /b")
    assert isinstance(onbuild, Onbuild)
    assert onbuild.expression == "COPY --from=x a /b"
    assert isinstance(onbuild.trigger, Copy)
    assert onbuild.trigger.from_ == "x"
    fails("ONBUILD ONBUILD RUN x", "Chaining ONBUILD")
    fails("ONBUILD FROM x", "FROM isn't allowed as an ONBUILD trigger")
    fails("ONBUILD", "ONBUILD requires at least one argument")


def test_unknown_instruction_suggests() -> None:
    error = fails("RUNN make", "unknown instruction: RUNN")
    assert error.hint == "did you mean RUN?"
    assert str(error) == "Dockerfile:2: unknown instruction: RUNN (did you mean RUN?)"


@pytest.mark.parametrize(
    ("spec", "start", "is_dir", "mode"),
    [
        ("0755", 0o600, False, 0o755),
        ("u+x", 0o644, False, 0o744),
        ("go-w", 0o666, False, 0o644),
        ("a=r", 0o777, False, 0o444),
        ("a+X", 0o644, True, 0o755),
        ("a+X", 0o644, False, 0o644),
        ("a+X", 0o744, False, 0o755),
        ("u=rwx,g=rx,o=", 0o000, False, 0o750),
        ("g=u", 0o640, False, 0o660),
    ],
)
def test_chmod_apply(spec: str, start: int, is_dir: bool, mode: int) -> None:
    assert Chmod.parse(spec).apply(start, is_dir) == mode


def test_onbuild_triggers_of_a_base_image() -> None:
    from dockyard.dockerfile.semantics import parse_onbuild_triggers
    from dockyard.location import SourceLocation

    at = SourceLocation("Dockerfile", 1, 1)
    run, copy = parse_onbuild_triggers(["RUN make", "COPY --chown=1:1 . /src"], at)
    assert isinstance(run, Run) and run.command == ("make",)
    assert isinstance(copy, Copy) and copy.chown == "1:1"
    assert run.location == at
    assert parse_onbuild_triggers([], at) == ()
    with pytest.raises(DockerfileError, match="Dockerfile:1: ONBUILD trigger of the base image"):
        parse_onbuild_triggers(["RUNN x"], at)
    with pytest.raises(DockerfileError, match="FROM isn't allowed as an ONBUILD trigger"):
        parse_onbuild_triggers(["FROM x"], at)


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("HEALTHCHECK --retries=1_0 CMD x", "invalid number"),
        ("HEALTHCHECK --retries=' 3' CMD x", "invalid number"),
        ("RUN --mount=type=cache,target=/x,uid=1_0 x", "invalid value 1_0 for uid"),
        ("RUN --mount=type=cache,target=/x,mode=+755 x", "invalid value \\+755 for mode"),
    ],
)
def test_numbers_are_parsed_like_go(line: str, match: str) -> None:
    fails(line, match)
