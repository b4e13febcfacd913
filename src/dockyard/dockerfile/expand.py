"""Word expansion of instructions: which words of which instruction BuildKit expands.

ADD and COPY (sources, destination, --chown, --chmod, ADD --checksum; not COPY --from,
which names a stage or an image as written), ENV, EXPOSE (split into words), LABEL,
STOPSIGNAL, USER, VOLUME, WORKDIR, ARG defaults and the values of RUN --mount are
expanded with the environment in effect before the instruction;
RUN/CMD/ENTRYPOINT/SHELL/HEALTHCHECK/ONBUILD are left alone (the shell or the image's
user does it). FROM is expanded with the global ARGs in
``stages.load_dockerfile``. Heredoc sources of COPY/ADD are expanded without quote
processing, as BuildKit's ExpandRaw does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from dockyard.dockerfile.commands import (
    Add,
    Arg,
    ArgDef,
    Copy,
    Env,
    Expose,
    Instruction,
    KeyValue,
    Label,
    Run,
    SourceContent,
    Stopsignal,
    User,
    Volume,
    Workdir,
)
from dockyard.dockerfile.digests import check_digest
from dockyard.dockerfile.mounts import parse_mount
from dockyard.errors import DockerfileError, WordExpansionError
from dockyard.location import SourceLocation

if TYPE_CHECKING:
    from dockyard.dockerfile.stages import Scope


# Build arguments that configure the build and never enter the environment.
NON_ENV_ARGS = frozenset({"BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"})


def expand_instruction(scope: Scope, instruction: Instruction) -> Instruction:
    kind = type(instruction)
    expander = _EXPANDERS.get(kind)
    if expander is None:
        return instruction
    if kind is not Arg and not _may_change(instruction, scope.context.lexer.escape):
        return instruction
    try:
        return expander(scope, instruction)
    except WordExpansionError as error:
        raise error.with_location(instruction.location) from None


def _expand_pairs(
    scope: Scope, pairs: tuple[KeyValue, ...], loc: SourceLocation
) -> tuple[KeyValue, ...]:
    return tuple(
        KeyValue(scope.expand_word(p.key, loc), scope.expand_word(p.value, loc)) for p in pairs
    )


def _expand_contents(
    scope: Scope, contents: tuple[SourceContent, ...], loc: SourceLocation
) -> tuple[SourceContent, ...]:
    expanded = []
    for content in contents:
        data = content.data
        if content.expand:
            try:
                data = scope.context.raw_lexer.expand_word(data, scope.env)
            except WordExpansionError as error:
                raise error.with_location(loc) from None
        expanded.append(SourceContent(content.path, data, content.expand))
    return tuple(expanded)


def _may_change(instruction: Instruction, escape: str) -> bool:
    """Whether expansion can change any word: only ``$``, quotes and escapes do anything."""
    original = instruction.original
    if "$" in original or "'" in original or '"' in original or escape in original:
        return True
    return any(content.expand for content in getattr(instruction, "contents", ()))


def _with(instr: Instruction, **changes: object) -> Instruction:
    """``instr`` with the fields that changed (most words have nothing to expand)."""
    changed = {name: value for name, value in changes.items() if value != getattr(instr, name)}
    if not changed:
        return instr
    # dataclasses.replace re-runs __init__ and costs several times more; the
    # instructions have no __post_init__ and keep their fields in __dict__.
    copy = object.__new__(type(instr))
    copy.__dict__.update(instr.__dict__)
    copy.__dict__.update(changed)
    return copy


def _optional(scope: Scope, word: str | None, loc: SourceLocation) -> str | None:
    return None if word is None else scope.expand_word(word, loc)


def _expand_env(scope: Scope, instr: Instruction) -> Instruction:
    assert isinstance(instr, Env | Label)
    return _with(instr, pairs=_expand_pairs(scope, instr.pairs, instr.location))


def _expand_arg(scope: Scope, instr: Instruction) -> Instruction:
    """ARG resolves its values one name after the other (BuildKit's dispatchArg).

    A build argument wins and its default is then never expanded (so a failing
    ``${V:?}`` default does not matter); otherwise the default is expanded with the
    environment including the names already set on this line; a name without a
    default inherits the global ARG of the same name. Names are not expanded.
    """
    assert isinstance(instr, Arg)
    build_args = scope.context.build_args
    global_values = scope.context.global_values
    env: dict[str, str] | None = None
    resolved: list[ArgDef] = []
    for definition in instr.args:
        name = definition.name
        if name in build_args:
            value: str | None = build_args[name]
        elif definition.default is not None:
            value = scope.context.lexer.expand_word(
                definition.default, scope.env if env is None else env
            )
        else:
            value = global_values.get(name)
        resolved.append(ArgDef(name, value))
        if value is not None and name not in NON_ENV_ARGS:
            if env is None:
                env = dict(scope.env)
            env[name] = value
    return _with(instr, args=tuple(resolved))


def _expand_copy(scope: Scope, instr: Instruction) -> Instruction:
    assert isinstance(instr, Copy | Add)
    loc = instr.location
    changes: dict[str, object] = {
        "sources": tuple(scope.expand_word(s, loc) for s in instr.sources),
        "dest": scope.expand_word(instr.dest, loc),
        "contents": _expand_contents(scope, instr.contents, loc),
        "chown": _optional(scope, instr.chown, loc),
        "chmod": _optional(scope, instr.chmod, loc),
    }
    if isinstance(instr, Add):
        changes["checksum"] = _optional(scope, instr.checksum, loc)
    expanded = _with(instr, **changes)
    assert isinstance(expanded, Copy | Add)
    if expanded.chmod is not instr.chmod:
        _check_chmod(expanded.chmod, loc)
    if isinstance(expanded, Add) and expanded.checksum is not None:
        check_digest(expanded.checksum, loc)
    return expanded


def _check_chmod(chmod: str | None, loc: SourceLocation) -> None:
    if chmod is None:
        return
    from dockyard.dockerfile.chmod import Chmod

    try:
        Chmod.parse(chmod)
    except ValueError as error:
        raise DockerfileError(str(error), loc) from None


def _expand_expose(scope: Scope, instr: Instruction) -> Instruction:
    assert isinstance(instr, Expose)
    ports: list[str] = []
    for port in instr.ports:
        try:
            ports += scope.context.lexer.expand_words(port, scope.env)
        except WordExpansionError as error:
            raise error.with_location(instr.location) from None
    return _with(instr, ports=tuple(ports))


def _expand_volume(scope: Scope, instr: Instruction) -> Instruction:
    assert isinstance(instr, Volume)
    return _with(instr, paths=tuple(scope.expand_word(p, instr.location) for p in instr.paths))


def _expand_user(scope: Scope, instr: Instruction) -> Instruction:
    assert isinstance(instr, User)
    return _with(instr, user=scope.expand_word(instr.user, instr.location))


def _expand_workdir(scope: Scope, instr: Instruction) -> Instruction:
    assert isinstance(instr, Workdir)
    return _with(instr, path=scope.expand_word(instr.path, instr.location))


def _expand_stopsignal(scope: Scope, instr: Instruction) -> Instruction:
    assert isinstance(instr, Stopsignal)
    return _with(instr, signal=scope.expand_word(instr.signal, instr.location))


def _expand_run(scope: Scope, instr: Instruction) -> Instruction:
    assert isinstance(instr, Run)
    if not instr.mount_specs:
        return instr
    if instr.mounts and not any("$" in spec for spec in instr.mount_specs):
        return instr  # parsed already, nothing to expand
    loc = instr.location

    def expand(word: str) -> str:
        return scope.expand_word(word, loc)

    mounts = tuple(parse_mount(spec, loc, expand) for spec in instr.mount_specs)
    return _with(instr, mounts=mounts)


_EXPANDERS: dict[type, Callable[[Scope, Instruction], Instruction]] = {
    Env: _expand_env,
    Label: _expand_env,
    Arg: _expand_arg,
    Copy: _expand_copy,
    Add: _expand_copy,
    Expose: _expand_expose,
    Volume: _expand_volume,
    User: _expand_user,
    Workdir: _expand_workdir,
    Stopsignal: _expand_stopsignal,
    Run: _expand_run,
}
