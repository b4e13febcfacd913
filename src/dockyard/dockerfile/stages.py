"""Stages, ARG scoping and word expansion: what the build engine consumes.

``load_dockerfile`` parses a Dockerfile into stages, evaluates the global ARGs
(those before the first FROM, plus the predefined platform ARGs) and expands every
FROM line with them. Inside a stage, an instruction is expanded with the
environment in effect *before* it (so ``ENV A=1 B=$A`` leaves B empty): the build
engine walks a stage with ``Dockerfile.steps`` and gets each instruction expanded
together with the ``Scope`` before and after it.

ARG rules (BuildKit's): a global ARG is visible only in FROM lines unless the stage
declares ``ARG NAME`` again (it then inherits the global value); a build argument
(``--build-arg``) overrides a declared default; ENV and ARG share one environment
where the later assignment wins; a stage built ``FROM`` another stage starts with
that stage's environment. The proxy variables are accepted as build arguments
without a declaration and stay out of history and cache keys.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from dockyard.dockerfile.expand import NON_ENV_ARGS, expand_instruction
from dockyard.dockerfile.instructions import (
    Arg,
    Copy,
    Env,
    From,
    Instruction,
    Run,
    parse_instruction,
)
from dockyard.dockerfile.nodes import ParsedDockerfile, ParseWarning
from dockyard.dockerfile.parser import gc_paused, parse
from dockyard.dockerfile.shell import ShellLexer
from dockyard.errors import DockerfileError, WordExpansionError
from dockyard.location import SourceLocation
from dockyard.oci.config import DEFAULT_PATH

PLATFORM_ARGS = (
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
)
PROXY_ARGS = frozenset(
    {
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "FTP_PROXY",
        "ftp_proxy",
        "NO_PROXY",
        "no_proxy",
        "ALL_PROXY",
        "all_proxy",
    }
)
_MOUNT_FROM = re.compile(r"(?:^|,)from=([^,]+)", re.IGNORECASE)
_MACHINE_TO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}


def host_platform() -> str:
    machine = os.uname().machine
    return f"linux/{_MACHINE_TO_ARCH.get(machine, machine)}"


def platform_args(target_platform: str, build_platform: str) -> dict[str, str]:
    """The predefined platform ARGs (TARGETOS, BUILDARCH...) for two ``os/arch[/variant]``."""
    values: dict[str, str] = {}
    for prefix, platform in (("TARGET", target_platform), ("BUILD", build_platform)):
        parts = platform.split("/")
        os_name = parts[0] if parts else ""
        arch = parts[1] if len(parts) > 1 else ""
        variant = parts[2] if len(parts) > 2 else ""
        values[f"{prefix}PLATFORM"] = platform
        values[f"{prefix}OS"] = os_name
        values[f"{prefix}ARCH"] = arch
        values[f"{prefix}VARIANT"] = variant
    return values


@dataclass(frozen=True)
class Stage:
    index: int
    name: str | None
    base: str  # the FROM image, expanded with the global ARGs
    platform: str | None  # the expanded --platform
    base_stage: int | None  # index of an earlier stage when FROM names one
    from_: From
    instructions: tuple[Instruction, ...]  # as written; expand them with a Scope

    @property
    def location(self) -> SourceLocation:
        return self.from_.location


@dataclass(frozen=True)
class _ArgContext:
    build_args: Mapping[str, str]
    global_values: Mapping[str, str]  # global ARGs that have a value, platform ARGs included
    lexer: ShellLexer
    raw_lexer: ShellLexer  # heredoc bodies: quotes are not processed


@dataclass(frozen=True)
class Scope:
    """The environment at one point of a stage. Treat the mappings as read-only."""

    env: Mapping[str, str]  # what RUN sees and expansion uses: ARG and ENV, later wins
    image_env: Mapping[str, str]  # the image config Env (ENV only)
    args: Mapping[str, str]  # build ARGs in effect with their values
    context: _ArgContext = field(repr=False, compare=False)

    @property
    def proxy_args(self) -> dict[str, str]:
        """Proxy build arguments: add them to RUN's environment, keep them out of history."""
        return {k: v for k, v in self.context.build_args.items() if k in PROXY_ARGS}

    def run_env(self) -> dict[str, str]:
        """The environment of a RUN step: the scope's env plus the proxy build arguments."""
        return {**self.proxy_args, **self.env}

    def expand_word(self, word: str, location: SourceLocation) -> str:
        try:
            return self.context.lexer.expand_word(word, self.env)
        except WordExpansionError as error:
            raise error.with_location(location) from None

    def expand(self, instruction: Instruction) -> Instruction:
        """The instruction with its words expanded (BuildKit's list of expanding instructions)."""
        return expand_instruction(self, instruction)

    def apply(self, instruction: Instruction) -> Scope:
        """The scope after an instruction expanded by ``expand``: only ENV and ARG change it.

        For ARG, ``expand`` resolves each name's value (build argument, default or global
        ARG); a name left without a value is declared but not set.
        """
        if isinstance(instruction, Env):
            env = dict(self.env)
            image_env = dict(self.image_env)
            for pair in instruction.pairs:
                env[pair.key] = pair.value
                image_env[pair.key] = pair.value
            return Scope(env, image_env, self.args, self.context)
        if isinstance(instruction, Arg):
            env = dict(self.env)
            args = dict(self.args)
            for definition in instruction.args:  # resolved by expand()
                if definition.default is not None:
                    if definition.name not in NON_ENV_ARGS:
                        env[definition.name] = definition.default
                    args[definition.name] = definition.default
            return Scope(env, self.image_env, args, self.context)
        return self


@dataclass(frozen=True)
class Step:
    instruction: Instruction  # expanded
    before: Scope  # the environment the instruction runs with
    after: Scope


@dataclass(frozen=True)
class Dockerfile:
    parsed: ParsedDockerfile
    meta_args: tuple[Arg, ...]
    global_args: Mapping[str, str]  # values for FROM lines, platform ARGs included
    stages: tuple[Stage, ...]
    target: Stage
    build_args: Mapping[str, str]
    escape: str
    warnings: tuple[ParseWarning, ...] = ()  # parser warnings and duplicate stage names

    def stage(self, name_or_index: str | int) -> Stage:
        if isinstance(name_or_index, int) or name_or_index.isdigit():
            index = int(name_or_index)
            if 0 <= index < len(self.stages):
                return self.stages[index]
        else:
            for stage in self.stages:
                if stage.name == name_or_index.lower():
                    return stage
        raise DockerfileError(
            f"stage {name_or_index!r} not found",
            None,
            "stages: " + ", ".join(s.name or str(s.index) for s in self.stages),
        )

    @cached_property
    def _context(self) -> _ArgContext:
        return _ArgContext(
            self.build_args,
            self.global_args,
            ShellLexer(self.escape),
            ShellLexer("\\", skip_process_quotes=True),
        )

    def initial_scope(
        self, stage: Stage, base_image_env: Sequence[str] = (), parent: Scope | None = None
    ) -> Scope:
        """The scope at the start of ``stage``.

        ``parent`` is the final scope of the base stage when ``stage.base_stage`` is set;
        otherwise ``base_image_env`` is the base image's config Env ("KEY=VALUE" strings).
        """
        del stage
        if parent is not None:
            return Scope(dict(parent.env), dict(parent.image_env), dict(parent.args), self._context)
        env: dict[str, str] = {}
        for entry in base_image_env:
            key, _, value = entry.partition("=")
            env[key] = value
        if "PATH" not in env:  # BuildKit always sets PATH in the image config
            env["PATH"] = DEFAULT_PATH
        return Scope(env, dict(env), {}, self._context)

    def steps(self, stage: Stage, scope: Scope) -> Iterator[Step]:
        """Each instruction of the stage expanded with the scope before it."""
        for instruction in stage.instructions:
            expanded = scope.expand(instruction)
            after = scope.apply(expanded)
            yield Step(expanded, scope, after)
            scope = after

    def stages_needed(self) -> tuple[Stage, ...]:
        """The target and every stage it depends on (FROM, COPY --from, RUN --mount from)."""
        needed: set[int] = set()
        pending = [self.target.index]
        while pending:
            index = pending.pop()
            if index in needed:
                continue
            needed.add(index)
            pending += self._dependencies(self.stages[index])
        return tuple(s for s in self.stages if s.index in needed)

    def _dependencies(self, stage: Stage) -> list[int]:
        found = [] if stage.base_stage is None else [stage.base_stage]
        names = {s.name: s.index for s in self.stages if s.name is not None}
        for reference in _stage_references(stage):
            index = _resolve_stage(reference, names)
            if index is not None:
                found.append(index)
        return found

    def unused_build_args(self) -> tuple[str, ...]:
        declared = {d.name for a in self.meta_args for d in a.args}
        for stage in self.stages:
            for instruction in stage.instructions:
                if isinstance(instruction, Arg):
                    declared.update(d.name for d in instruction.args)
        return tuple(
            sorted(k for k in self.build_args if k not in declared and k not in PROXY_ARGS)
        )


def _stage_references(stage: Stage) -> Iterator[str]:
    """COPY --from and RUN --mount from= values of a stage, as written (never expanded)."""
    for instruction in stage.instructions:
        if isinstance(instruction, Copy) and instruction.from_:
            yield instruction.from_
        elif isinstance(instruction, Run):
            for spec in instruction.mount_specs:
                match = _MOUNT_FROM.search(spec)
                if match:
                    yield match.group(1)


def _resolve_stage(reference: str, names: Mapping[str, int]) -> int | None:
    """The stage a reference names (a number is an index), or None for an image."""
    if reference.isdigit():
        return int(reference)
    return names.get(reference.lower())


def _check_copy_sources(stages: Sequence[Stage], names: Mapping[str, int]) -> None:
    for stage in stages:
        for instruction in stage.instructions:
            if not isinstance(instruction, Copy) or not instruction.from_:
                continue
            index = _resolve_stage(instruction.from_, names)
            if index is None:
                continue
            if index >= len(stages):
                raise DockerfileError(
                    f"invalid stage index {index}",
                    instruction.location,
                    f"stages are numbered 0 to {len(stages) - 1}",
                )
            if index >= stage.index:
                current = stage.name or str(stage.index)
                raise DockerfileError(
                    f"cannot copy from stage {instruction.from_!r}, it needs to be defined "
                    f"before current stage {current!r}",
                    instruction.location,
                    "move that stage above this one",
                )


def load_dockerfile(
    text: str | bytes,
    filename: str = "Dockerfile",
    *,
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
    target_platform: str | None = None,
    build_platform: str | None = None,
) -> Dockerfile:
    """Parse, convert to typed instructions, split into stages, expand the FROM lines."""
    with gc_paused():
        return _load(text, filename, build_args, target, target_platform, build_platform)


def _load(
    text: str | bytes,
    filename: str,
    build_args: Mapping[str, str] | None,
    target: str | None,
    target_platform: str | None,
    build_platform: str | None,
) -> Dockerfile:
    parsed = parse(text, filename)
    build_args = dict(build_args or {})
    build_platform = build_platform or host_platform()
    target_platform = target_platform or build_platform
    lexer = ShellLexer(parsed.escape)

    meta_args: list[Arg] = []
    global_values = platform_args(target_platform, build_platform)
    declared_globals: set[str] = set()
    stage_parts: list[tuple[From, list[Instruction]]] = []
    for node in parsed.nodes:
        instruction = parse_instruction(node, filename)
        if isinstance(instruction, From):
            stage_parts.append((instruction, []))
        elif not stage_parts:
            if not isinstance(instruction, Arg):
                raise DockerfileError(
                    f"{instruction.keyword} before the first FROM",
                    instruction.location,
                    "a build stage starts with FROM; only ARG may come before it",
                )
            meta_args.append(instruction)
            _evaluate_meta_arg(instruction, lexer, build_args, global_values, declared_globals)
        else:
            stage_parts[-1][1].append(instruction)
    if not stage_parts:
        last = parsed.nodes[-1]
        raise DockerfileError(
            "the Dockerfile has no FROM instruction",
            last.location(filename),
            "add FROM <image> after the global ARGs",
        )

    stages: list[Stage] = []
    stage_names: dict[str, int] = {}  # the latest stage of each name so far, as BuildKit
    warnings = list(parsed.warnings)
    for index, (from_, instructions) in enumerate(stage_parts):
        base = _expand_from_word(
            from_.base, from_, lexer, global_values, declared_globals, stage_parts
        )
        if not base:
            raise DockerfileError(
                f"base name ({from_.base}) should not be blank",
                from_.location,
                "give the ARG a default or pass --build-arg",
            )
        platform = None
        if from_.platform is not None:
            platform = _expand_from_word(
                from_.platform, from_, lexer, global_values, declared_globals, stage_parts
            )
        stages.append(
            Stage(
                index=index,
                name=from_.name,
                base=base,
                platform=platform or None,
                base_stage=stage_names.get(base),
                from_=from_,
                instructions=tuple(instructions),
            )
        )
        if from_.name is not None:
            if from_.name in stage_names:
                warnings.append(
                    ParseWarning(
                        f"Duplicate stage name {from_.name!r}, stage names should be unique",
                        from_.location.start_line,
                    )
                )
            stage_names[from_.name] = index

    _check_copy_sources(stages, stage_names)
    chosen = stages[-1]
    if target is not None:
        matches = [s for s in stages if s.name == target.lower()]
        if not matches:
            names = ", ".join(s.name for s in stages if s.name) or "none"
            raise DockerfileError(
                f"target stage {target!r} could not be found", None, f"named stages: {names}"
            )
        chosen = matches[0]
    return Dockerfile(
        parsed=parsed,
        meta_args=tuple(meta_args),
        global_args=global_values,
        stages=tuple(stages),
        target=chosen,
        build_args=build_args,
        escape=parsed.escape,
        warnings=tuple(warnings),
    )


def _evaluate_meta_arg(
    instruction: Arg,
    lexer: ShellLexer,
    build_args: Mapping[str, str],
    global_values: dict[str, str],
    declared: set[str],
) -> None:
    snapshot = dict(global_values)  # every ARG of one line sees the values before it
    for definition in instruction.args:
        declared.add(definition.name)
        if definition.name in build_args:
            global_values[definition.name] = build_args[definition.name]
        elif definition.default is not None:
            try:
                global_values[definition.name] = lexer.expand_word(definition.default, snapshot)
            except WordExpansionError as error:
                raise error.with_location(instruction.location) from None


def _expand_from_word(
    word: str,
    from_: From,
    lexer: ShellLexer,
    global_values: Mapping[str, str],
    declared: set[str],
    stage_parts: Sequence[tuple[From, list[Instruction]]],
) -> str:
    try:
        expansion = lexer.expand(word, global_values)
    except WordExpansionError as error:
        raise error.with_location(from_.location) from None
    for name in sorted(expansion.unmatched):
        if name in declared or name in PLATFORM_ARGS:
            continue
        if re.search(r"\$\{" + re.escape(name) + r":?[-+?]", word):
            continue  # ${NAME:-default} and friends handle the unset case themselves
        later = _later_declaration(name, stage_parts)
        hint = (
            f"ARG {name} is declared on line {later} inside a stage; declare it before "
            "the first FROM to use it in FROM lines"
            if later is not None
            else f"add 'ARG {name}' before the first FROM"
        )
        raise DockerfileError(
            f"FROM uses ${name}, but ARG {name} is not declared before it", from_.location, hint
        )
    return expansion.value


def _later_declaration(
    name: str, stage_parts: Sequence[tuple[From, list[Instruction]]]
) -> int | None:
    for _, instructions in stage_parts:
        for instruction in instructions:
            if isinstance(instruction, Arg) and any(d.name == name for d in instruction.args):
                return instruction.location.start_line
    return None
