"""Typed instructions: one frozen dataclass per Dockerfile instruction.

``parse_instruction`` turns a parse-tree ``Node`` into one of these, validating
arguments and flags the way BuildKit's ``instructions.ParseInstruction`` does. Words
are NOT expanded here: ``stages.Scope.expand`` does that with the environment in
effect at that point of the build.
"""

from __future__ import annotations

import re

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
from dockyard.dockerfile.digests import check_digest
from dockyard.dockerfile.flags import FlagSet, FlagType, parse_flags
from dockyard.dockerfile.gotext import parse_go_duration
from dockyard.dockerfile.heredoc import parse_heredoc_word
from dockyard.dockerfile.line_parsers import KEYWORDS
from dockyard.dockerfile.mounts import Mount, parse_mount
from dockyard.dockerfile.nodes import Heredoc, Node
from dockyard.errors import DockerfileError
from dockyard.location import SourceLocation

__all__ = [
    "Add",
    "Arg",
    "ArgDef",
    "Cmd",
    "Copy",
    "Entrypoint",
    "Env",
    "Expose",
    "From",
    "Healthcheck",
    "Instruction",
    "KeyValue",
    "Label",
    "Maintainer",
    "Onbuild",
    "Run",
    "Shell",
    "SourceContent",
    "Stopsignal",
    "User",
    "Volume",
    "Workdir",
    "parse_instruction",
]

B, S, L = FlagType.BOOL, FlagType.STRING, FlagType.STRINGS
_STAGE_NAME = re.compile(r"[a-z][a-z0-9-_.]*\Z")
NETWORK_MODES = ("default", "none", "host")
SECURITY_MODES = ("sandbox", "insecure")


_ALL_KEYWORDS = tuple(sorted(k.upper() for k in KEYWORDS))


_NO_FLAGS = FlagSet("", SourceLocation("", 0, 0))  # read-only: no flag words given


class _Request:
    """One node being converted, with helpers that raise located errors."""

    __slots__ = ("args", "location", "node", "original")

    def __init__(self, node: Node, filename: str) -> None:
        self.node = node
        self.location = SourceLocation(filename, node.start_line, node.end_line)
        self.args = node.args
        self.original = node.original

    @property
    def keyword(self) -> str:
        return self.node.keyword.upper()

    def fail(self, what: str, hint: str | None = None) -> DockerfileError:
        return DockerfileError(what, self.location, hint)

    def flags(self, **spec: FlagType) -> FlagSet:
        if not self.node.flags:
            return _NO_FLAGS
        return parse_flags(self.keyword, self.location, self.node.flags, **spec)

    def exactly_one(self, example: str) -> str:
        if len(self.args) != 1:
            raise self.fail(
                f"{self.keyword} requires exactly one argument", f"e.g. {self.keyword} {example}"
            )
        return self.args[0]

    def command(self) -> tuple[tuple[str, ...], bool]:
        """(argv, shell_form) of RUN/CMD/ENTRYPOINT (handleJSONArgs)."""
        if self.node.is_json:
            return self.args, False
        return ((" ".join(self.args),) if self.args else ()), True


def parse_instruction(node: Node, filename: str = "Dockerfile") -> Instruction:
    """Convert one node. Raises DockerfileError (with the node's location)."""
    request = _Request(node, filename)
    converter = _CONVERTERS.get(node.keyword)
    if converter is None:
        import difflib

        written = node.source_keyword
        close = difflib.get_close_matches(written.upper(), _ALL_KEYWORDS, n=1, cutoff=0.6)
        hint = (
            f"did you mean {close[0]}?" if close else "instructions are: " + " ".join(_ALL_KEYWORDS)
        )
        raise request.fail(f"unknown instruction: {written}", hint)
    return converter(request)


def _key_values(request: _Request) -> tuple[KeyValue, ...]:
    args = request.args
    if not args:
        raise request.fail(
            f"{request.keyword} requires at least one argument", f"e.g. {request.keyword} key=value"
        )
    pairs = []
    for index in range(0, len(args) - 2, 3):
        if not args[index]:
            raise request.fail(f"{request.keyword} names can not be blank")
        pairs.append(KeyValue(args[index], args[index + 1]))
    return tuple(pairs)


def _env(request: _Request) -> Env:
    request.flags()
    return Env(pairs=_key_values(request), location=request.location, original=request.original)


def _label(request: _Request) -> Label:
    request.flags()
    return Label(pairs=_key_values(request), location=request.location, original=request.original)


def _maintainer(request: _Request) -> Maintainer:
    name = request.exactly_one("Jane Doe <jane@example.com>")
    request.flags()
    return Maintainer(name=name, location=request.location, original=request.original)


def _sources_and_dest(request: _Request) -> tuple[tuple[str, ...], str, tuple[SourceContent, ...]]:
    if len(request.args) < 2:
        first = request.args[0] if request.args else "src"
        raise request.fail(
            f"{request.keyword} requires at least two arguments, but only one was provided. "
            "Destination could not be determined.",
            f"add the destination, e.g. {request.keyword} {first} /app/",
        )
    *sources, dest = request.args
    if parse_heredoc_word(dest) is not None:
        raise request.fail(f"{request.keyword} cannot accept a heredoc as a destination")
    by_name = {heredoc.name: heredoc for heredoc in request.node.heredocs}
    paths: list[str] = []
    contents: list[SourceContent] = []
    for source in sources:
        opened = parse_heredoc_word(source)
        if opened is None:
            paths.append(source)
            continue
        heredoc = by_name.get(opened.name)
        data = heredoc.content if heredoc is not None else ""
        if opened.chomp:
            data = Heredoc(opened.name, data, opened.expand, True).text
        contents.append(SourceContent(opened.name, data, opened.expand))
    return tuple(paths), dest, tuple(contents)


def _validate_chmod(request: _Request, chmod: str | None) -> None:
    if chmod is None or "$" in chmod:
        return
    try:
        Chmod.parse(chmod)
    except ValueError as error:
        raise request.fail(str(error)) from None


def _copy(request: _Request) -> Copy:
    if len(request.args) < 2:
        _sources_and_dest(request)
    flags = request.flags(chown=S, from_=S, chmod=S, link=B, parents=B, exclude=L)
    sources, dest, contents = _sources_and_dest(request)
    _validate_chmod(request, flags.string("chmod"))
    return Copy(
        sources=sources,
        dest=dest,
        contents=contents,
        from_=flags.string("from"),
        chown=flags.string("chown"),
        chmod=flags.string("chmod"),
        link=flags.boolean("link"),
        parents=flags.boolean("parents"),
        excludes=flags.strings("exclude"),
        location=request.location,
        original=request.original,
    )


def _add(request: _Request) -> Add:
    if len(request.args) < 2:
        _sources_and_dest(request)
    flags = request.flags(chown=S, chmod=S, link=B, keep_git_dir=B, checksum=S, unpack=B, exclude=L)
    sources, dest, contents = _sources_and_dest(request)
    _validate_chmod(request, flags.string("chmod"))
    checksum = flags.string("checksum")
    if checksum is not None and "$" not in checksum:
        check_digest(checksum, request.location)
    return Add(
        sources=sources,
        dest=dest,
        contents=contents,
        chown=flags.string("chown"),
        chmod=flags.string("chmod"),
        link=flags.boolean("link"),
        keep_git_dir=flags.boolean("keep-git-dir"),
        checksum=flags.string("checksum"),
        unpack=flags.optional_boolean("unpack"),
        excludes=flags.strings("exclude"),
        location=request.location,
        original=request.original,
    )


def _from(request: _Request) -> From:
    args = request.args
    name: str | None = None
    if len(args) == 3 and args[1].lower() == "as":
        name = args[2].lower()
        if not _STAGE_NAME.match(name):
            raise request.fail(
                f"invalid name for build stage: {args[2]!r}, "
                "name can't start with a number or contain symbols",
                "use lower-case letters, digits, '-', '_' and '.', starting with a letter",
            )
    elif len(args) != 1:
        raise request.fail(
            "FROM requires either one or three arguments", "write FROM image [AS name]"
        )
    flags = request.flags(platform=S)
    return From(
        base=args[0],
        name=name,
        platform=flags.string("platform"),
        location=request.location,
        original=request.original,
    )


def _onbuild(request: _Request) -> Onbuild:
    child = request.node.child
    if child is None:
        raise request.fail("ONBUILD requires at least one argument", "e.g. ONBUILD RUN make")
    request.flags()
    trigger_keyword = child.keyword.upper()
    if trigger_keyword == "ONBUILD":
        raise request.fail("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger_keyword in ("MAINTAINER", "FROM"):
        raise request.fail(f"{trigger_keyword} isn't allowed as an ONBUILD trigger")
    expression = re.sub(r"(?i)^[\t\n\f\r ]*ONBUILD[\t\n\f\r ]*", "", request.node.original, count=1)
    for heredoc in request.node.heredocs:
        expression += "\n" + heredoc.content + heredoc.name
    trigger_node = Node(
        keyword=child.keyword,
        flags=child.flags,
        args=child.args,
        original=child.original,
        start_line=child.start_line,
        end_line=child.end_line,
        child=child.child,
        is_json=child.is_json,
        heredocs=request.node.heredocs,
    )
    trigger = parse_instruction(trigger_node, request.location.filename)
    return Onbuild(
        expression=expression, trigger=trigger, location=request.location, original=request.original
    )


def _workdir(request: _Request) -> Workdir:
    path = request.exactly_one("/app")
    request.flags()
    return Workdir(path=path, location=request.location, original=request.original)


def _run(request: _Request) -> Run:
    flags = request.flags(mount=L, network=S, security=S)
    network = flags.string("network")
    if network is not None and network not in NETWORK_MODES:
        raise request.fail(f"unsupported network mode {network!r}", "use default, none or host")
    security = flags.string("security")
    if security is not None and security not in SECURITY_MODES:
        raise request.fail(f"unsupported security mode {security!r}", "use sandbox or insecure")
    specs = flags.strings("mount")
    mounts: tuple[Mount, ...] = ()
    for spec in specs:
        if re.search(r"(?:^|,)from=[^,]*\$.", spec, re.IGNORECASE):
            raise request.fail(
                f"--mount={spec}: 'from' doesn't support variable expansion",
                "define an alias stage instead (FROM ${IMAGE} AS alias)",
            )
    if specs and not any("$" in spec for spec in specs):
        mounts = tuple(parse_mount(spec, request.location) for spec in specs)
    command, shell_form = request.command()
    return Run(
        command=command,
        shell_form=shell_form,
        heredocs=request.node.heredocs,
        mounts=mounts,
        mount_specs=specs,
        network=network,
        security=security,
        location=request.location,
        original=request.original,
    )


def _cmd(request: _Request) -> Cmd:
    request.flags()
    command, shell_form = request.command()
    return Cmd(
        command=command, shell_form=shell_form, location=request.location, original=request.original
    )


def _entrypoint(request: _Request) -> Entrypoint:
    request.flags()
    command, shell_form = request.command()
    return Entrypoint(
        command=command, shell_form=shell_form, location=request.location, original=request.original
    )


def _duration(request: _Request, flags: FlagSet, name: str) -> int:
    value = flags.string(name)
    if not value:
        return 0
    try:
        duration = parse_go_duration(value)
    except ValueError as error:
        raise request.fail(
            f"--{name}: {error}", "write a duration like 30s, 1m30s or 500ms"
        ) from None
    if duration != 0 and duration < 1_000_000:
        raise request.fail(f'Interval "{name}" cannot be less than 1ms')
    return duration


def _healthcheck(request: _Request) -> Healthcheck:
    if not request.args:
        raise request.fail(
            "HEALTHCHECK requires at least one argument",
            "e.g. HEALTHCHECK CMD curl -f http://localhost/",
        )
    kind = request.args[0].upper()
    rest = request.args[1:]
    if kind == "NONE":
        if rest:
            raise request.fail("HEALTHCHECK NONE takes no arguments")
        return Healthcheck(test=("NONE",), location=request.location, original=request.original)
    flags = request.flags(interval=S, timeout=S, start_period=S, start_interval=S, retries=S)
    if kind != "CMD":
        raise request.fail(f'Unknown type "{kind}" in HEALTHCHECK (try CMD)')
    if not rest:
        raise request.fail("Missing command after HEALTHCHECK CMD")
    test = ("CMD", *rest) if request.node.is_json else ("CMD-SHELL", " ".join(rest))
    retries = 0
    retries_text = flags.string("retries")
    if retries_text:
        if not re.fullmatch(r"[+-]?[0-9]+", retries_text):  # Go's ParseInt, base 10
            raise request.fail(f"--retries: invalid number {retries_text!r}")
        retries = int(retries_text)
        if retries < 0:
            raise request.fail(f"--retries cannot be negative ({retries})")
        if retries > 2**31 - 1:
            raise request.fail(f"--retries: value out of range {retries_text!r}")
    return Healthcheck(
        test=test,
        interval_ns=_duration(request, flags, "interval"),
        timeout_ns=_duration(request, flags, "timeout"),
        start_period_ns=_duration(request, flags, "start-period"),
        start_interval_ns=_duration(request, flags, "start-interval"),
        retries=retries,
        location=request.location,
        original=request.original,
    )


def _expose(request: _Request) -> Expose:
    if not request.args:
        raise request.fail("EXPOSE requires at least one argument", "e.g. EXPOSE 80/tcp")
    request.flags()
    return Expose(
        ports=tuple(sorted(request.args)), location=request.location, original=request.original
    )


def _user(request: _Request) -> User:
    user = request.exactly_one("app:app")
    request.flags()
    return User(user=user, location=request.location, original=request.original)


def _volume(request: _Request) -> Volume:
    if not request.args:
        raise request.fail("VOLUME requires at least one argument", "e.g. VOLUME /data")
    request.flags()
    paths = []
    for path in request.args:
        path = path.strip()
        if not path:
            raise request.fail("VOLUME specified can not be an empty string")
        paths.append(path)
    return Volume(paths=tuple(paths), location=request.location, original=request.original)


def _stopsignal(request: _Request) -> Stopsignal:
    signal = request.exactly_one("SIGTERM")
    return Stopsignal(signal=signal, location=request.location, original=request.original)


def _arg(request: _Request) -> Arg:
    if not request.args:
        raise request.fail("ARG requires at least one argument", "e.g. ARG VERSION=1.0")
    request.flags()
    defs = []
    for word in request.args:
        name, has_value, value = word.partition("=")
        if has_value and not name:
            raise request.fail("ARG names can not be blank")
        defs.append(ArgDef(name, value if has_value else None))
    return Arg(args=tuple(defs), location=request.location, original=request.original)


def _shell(request: _Request) -> Shell:
    request.flags()
    if not request.args:
        raise request.fail("SHELL requires at least one argument", 'e.g. SHELL ["/bin/bash", "-c"]')
    if not request.node.is_json:
        raise request.fail(
            "SHELL requires the arguments to be in JSON form",
            f"write SHELL {_as_json(request.args[0].split())}",
        )
    return Shell(shell=request.args, location=request.location, original=request.original)


def _as_json(words: list[str]) -> str:
    import json

    return json.dumps(words)


_CONVERTERS = {
    "add": _add,
    "arg": _arg,
    "cmd": _cmd,
    "copy": _copy,
    "entrypoint": _entrypoint,
    "env": _env,
    "expose": _expose,
    "from": _from,
    "healthcheck": _healthcheck,
    "label": _label,
    "maintainer": _maintainer,
    "onbuild": _onbuild,
    "run": _run,
    "shell": _shell,
    "stopsignal": _stopsignal,
    "user": _user,
    "volume": _volume,
    "workdir": _workdir,
}
