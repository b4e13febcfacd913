"""Stages -> build graph: one dispatch function per instruction, as BuildKit's frontend.

``plan_build`` walks the stages the target needs (and only those), keeps the image
config and history of each, and chains vertices: a RUN becomes an exec vertex, a
COPY/ADD/WORKDIR a file vertex, a FROM a source vertex. Base images are looked up
through ``resolve_image`` (the solver passes a store lookup), so this module does no
I/O itself.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from dockyard.dockerfile import instructions as ins
from dockyard.dockerfile.parser import parse
from dockyard.dockerfile.stages import Dockerfile, Scope, Stage, load_dockerfile
from dockyard.errors import DockerfileError
from dockyard.oci.config import DEFAULT_PATH, ContainerConfig, Healthcheck, History
from dockyard.plan import dispatch_fs
from dockyard.plan.config import (
    go_list,
    go_quote_list,
    history_expose,
    history_healthcheck,
    run_shell,
    step_history,
)
from dockyard.plan.graph import ContextSource, ImageSource, ScratchSource, Vertex
from dockyard.plan.stages import BaseImage, BuildOptions, BuildPlan, StagePlan

ImageResolver = Callable[[str], BaseImage]


@dataclass
class StageState:
    """The mutable state of one stage while its instructions are dispatched."""

    index: int
    name: str | None
    display_name: str
    vertex: Vertex
    config: ContainerConfig
    history: list[History]
    base: BaseImage | None
    scope: Scope
    author: str = ""
    base_history: int = 0  # how many entries of ``history`` the base image gave
    cmd_total: int = 0
    cmd_index: int = 0
    cmd_set: bool = False
    layer_steps: list[Vertex] = field(default_factory=list)
    # Every ARG declared so far, in order, with its Dockerfile default (BuildKit's
    # d.buildArgs): RUN history lists them as ``|N NAME=value ...``.
    declared_args: list[tuple[str, str]] = field(default_factory=list)
    # The instruction being dispatched as written (before expansion).
    raw: Any = None

    def prefix(self, text: str) -> str:
        """BuildKit's progress name: ``[stage 2/5] RUN ...``."""
        if self.cmd_total == 0:
            return text
        self.cmd_index += 1
        width = len(str(self.cmd_total))
        stage = f"{self.display_name} " if self.display_name else ""
        return f"[{stage}{self.cmd_index:>{width}}/{self.cmd_total}] {text}"

    def add_history(self, created_by: str, *, layer: bool) -> None:
        self.history.append(step_history(created_by, layer=layer))

    def add_layer(self, vertex: Vertex, created_by: str) -> None:
        self.vertex = vertex
        self.layer_steps.append(vertex)
        self.add_history(created_by, layer=True)


class Planner:
    """Dispatches the stages of one Dockerfile."""

    def __init__(
        self, dockerfile: Dockerfile, options: BuildOptions, resolve_image: ImageResolver
    ) -> None:
        self.dockerfile = dockerfile
        self.options = options
        self.resolve_image = resolve_image
        self.context = Vertex(ContextSource(), name="[internal] load build context")
        self.done: dict[int, StageState] = {}
        self.images: dict[str, Vertex] = {}
        self.multi_stage = len(dockerfile.stages) > 1

    # -- stages ----------------------------------------------------------------

    def stage_state(self, stage: Stage) -> StageState:
        state = self.done.get(stage.index)
        if state is None:
            state = self.dispatch_stage(stage)
            self.done[stage.index] = state
        return state

    def dispatch_stage(self, stage: Stage) -> StageState:
        state = self.start_stage(stage)
        self.run_onbuild_triggers(state)
        steps = self.dockerfile.steps(stage, state.scope)
        for raw, step in zip(stage.instructions, steps, strict=True):
            state.raw = raw
            dispatch = _DISPATCH.get(type(step.instruction).__name__)
            if dispatch is None:
                raise DockerfileError(
                    f"unsupported instruction {type(step.instruction).__name__.upper()}",
                    step.instruction.location,
                )
            dispatch(self, state, step.instruction, step.before)
            state.scope = step.after
        return state

    def start_stage(self, stage: Stage) -> StageState:
        display = stage.name or (f"stage-{stage.index}" if self.multi_stage else "")
        total = sum(
            1
            for item in stage.instructions
            if isinstance(item, ins.Run | ins.Copy | ins.Add | ins.Workdir)
        )
        if stage.base_stage is not None:
            parent = self.stage_state(self.dockerfile.stage(stage.base_stage))
            scope = self.dockerfile.initial_scope(stage, parent=parent.scope)
            return StageState(
                index=stage.index,
                name=stage.name,
                display_name=display,
                vertex=parent.vertex,
                config=parent.config,
                history=list(parent.history),
                base=parent.base,
                scope=scope,
                author=parent.author,
                base_history=parent.base_history,
                cmd_total=total,
                layer_steps=list(parent.layer_steps),
                declared_args=list(parent.declared_args),
            )
        if stage.base.lower() == "scratch":
            base = None
            config = ContainerConfig(env=(f"PATH={DEFAULT_PATH}",), working_dir="/")
            vertex = Vertex(ScratchSource(), name="scratch")
            history: list[History] = []
        else:
            base = self.resolve_image(stage.base)
            config = base.config
            if "PATH" not in config.env_dict():
                config = replace(config, env=(*config.env, f"PATH={DEFAULT_PATH}"))
            vertex = Vertex(ImageSource(base.ref, base.manifest_digest, base.diff_ids))
            history = list(base.history)
            total += 1
        scope = self.dockerfile.initial_scope(stage, base_image_env=config.env)
        state = StageState(
            index=stage.index,
            name=stage.name,
            display_name=display,
            vertex=vertex,
            config=config,
            history=history,
            base=base,
            scope=scope,
            author=base.author if base else "",
            base_history=len(history),
            cmd_total=total,
        )
        if base is not None:
            name = state.prefix(f"FROM {base.ref}")
            state.vertex = Vertex(vertex.op, name=name, location=stage.from_.location)
        return state

    def run_onbuild_triggers(self, state: StageState) -> None:
        triggers = state.config.on_build or ()
        state.config = replace(state.config, on_build=None)
        for expression in triggers:
            parsed = parse(expression, self.options.dockerfile_name)
            for node in parsed.nodes:
                instruction = ins.parse_instruction(node, self.options.dockerfile_name)
                expanded = state.scope.expand(instruction)
                state.raw = instruction
                dispatch = _DISPATCH.get(type(expanded).__name__)
                if dispatch is None:
                    raise DockerfileError(f"unsupported ONBUILD trigger: {expression}")
                dispatch(self, state, expanded, state.scope)
                state.scope = state.scope.apply(expanded)

    def source_for(self, name: str, state: StageState) -> Vertex:
        """The vertex ``--from=NAME`` reads: a stage (by name or index) or an image."""
        stage = self._find_stage(name, state)
        if stage is not None:
            return self.stage_state(stage).vertex
        vertex = self.images.get(name)
        if vertex is None:
            image = self.resolve_image(name)
            vertex = Vertex(
                ImageSource(image.ref, image.manifest_digest, image.diff_ids),
                name=f"[internal] image {image.ref}",
            )
            self.images[name] = vertex
        return vertex

    def _find_stage(self, name: str, state: StageState) -> Stage | None:
        for stage in self.dockerfile.stages:
            if stage.name is not None and stage.name.lower() == name.lower():
                if stage.index >= state.index:
                    return None
                return stage
        if name.isdigit():
            index = int(name)
            if index >= state.index:
                raise DockerfileError(
                    f"invalid from flag value {name}: refers to current or later stage",
                )
            return self.dockerfile.stage(index)
        return None


# -- config-only instructions -------------------------------------------------


def dispatch_env(planner: Planner, state: StageState, instr: Any, before: Scope) -> None:
    after = before.apply(instr)
    state.config = replace(state.config, env=tuple(f"{k}={v}" for k, v in after.image_env.items()))
    state.add_history("ENV " + " ".join(f"{p.key}={p.value}" for p in instr.pairs), layer=False)


def dispatch_arg(planner: Planner, state: StageState, instr: Any, before: Scope) -> None:
    # History shows each name with its Dockerfile default, expanded; never the value a
    # --build-arg or a global ARG gave it.
    words = []
    for definition in state.raw.args if isinstance(state.raw, ins.Arg) else instr.args:
        if definition.default is None:
            words.append(definition.name)
            continue
        try:
            default = before.expand_word(definition.default, instr.location)
        except DockerfileError:
            default = definition.default
        words.append(f"{definition.name}={default}")
    after = before.apply(instr)
    for definition in instr.args:
        state.declared_args.append((definition.name, after.args.get(definition.name, "")))
    state.add_history("ARG " + " ".join(words), layer=False)


def dispatch_label(planner: Planner, state: StageState, instr: Any, before: Scope) -> None:
    labels = dict(state.config.labels)
    for pair in instr.pairs:
        labels[pair.key] = pair.value
    state.config = replace(state.config, labels=labels)
    state.add_history("LABEL " + " ".join(f"{p.key}={p.value}" for p in instr.pairs), layer=False)


def dispatch_maintainer(planner: Planner, state: StageState, instr: Any, before: Scope) -> None:
    state.author = instr.name
    state.add_history(f"MAINTAINER {instr.name}", layer=False)


def dispatch_expose(planner: Planner, state: StageState, instr: Any, before: Scope) -> None:
    ports = [_normalize_port(port) for word in instr.ports for port in _expand_ports(word)]
    state.config = replace(
        state.config, exposed_ports=tuple(sorted(set(state.config.exposed_ports) | set(ports)))
    )
    state.add_history(history_expose(ports), layer=False)


def _expand_ports(word: str) -> list[str]:
    """``8000-8002/tcp`` -> each port of the range (nat.ParsePortSpecs)."""
    spec, _, proto = word.partition("/")
    proto = proto or "tcp"
    if ":" in spec:
        raise DockerfileError(f"invalid containerPort: {word}", hint="EXPOSE takes only ports")
    low, _, high = spec.partition("-")
    if not low.isdigit() or (high and not high.isdigit()):
        raise DockerfileError(f"invalid containerPort: {spec}")
    start, end = int(low), int(high or low)
    if end < start:
        raise DockerfileError(f"invalid range specified for container port: {spec}")
    return [f"{port}/{proto}" for port in range(start, end + 1)]


def _normalize_port(port: str) -> str:
    number, _, proto = port.partition("/")
    return f"{int(number)}/{proto.lower()}"


def dispatch_user(planner: Planner, state: StageState, instr: Any, before: Scope) -> None:
    state.config = replace(state.config, user=instr.user)
    state.add_history(f"USER {instr.user}", layer=False)


def dispatch_volume(planner: Planner, state: StageState, instr: Any, before: Scope) -> None:
    for path in instr.paths:
        if not path:
            raise DockerfileError("VOLUME specified can not be an empty string", instr.location)
    volumes = sorted(set(state.config.volumes) | set(instr.paths))
    state.config = replace(state.config, volumes=tuple(volumes))
    state.add_history(f"VOLUME {go_list(instr.paths)}", layer=False)


def dispatch_stopsignal(planner: Planner, state: StageState, instr: Any, before: Scope) -> None:
    state.config = replace(state.config, stop_signal=instr.signal)
    state.add_history(f"STOPSIGNAL {instr.signal}", layer=False)


def dispatch_shell(planner: Planner, state: StageState, instr: Any, before: Scope) -> None:
    state.config = replace(state.config, shell=tuple(instr.shell))
    state.add_history(f"SHELL {go_list(instr.shell)}", layer=False)


def dispatch_onbuild(planner: Planner, state: StageState, instr: Any, before: Scope) -> None:
    # BuildKit records the trigger in the config only: ONBUILD adds no history entry.
    state.config = replace(
        state.config, on_build=(*(state.config.on_build or ()), instr.expression)
    )


def dispatch_healthcheck(planner: Planner, state: StageState, instr: Any, before: Scope) -> None:
    health = Healthcheck(
        test=tuple(instr.test),
        interval=instr.interval_ns,
        timeout=instr.timeout_ns,
        start_period=instr.start_period_ns,
        start_interval=instr.start_interval_ns,
        retries=instr.retries,
    )
    state.config = replace(state.config, healthcheck=health)
    state.add_history(history_healthcheck(health), layer=False)


def _command_args(state: StageState, command: tuple[str, ...], shell_form: bool) -> tuple[str, ...]:
    if shell_form:
        return (*run_shell(state.config), " ".join(command))
    return tuple(command)


def dispatch_cmd(planner: Planner, state: StageState, instr: Any, before: Scope) -> None:
    args = _command_args(state, instr.command, instr.shell_form)
    state.config = replace(state.config, cmd=args, args_escaped=True)
    state.cmd_set = True
    state.add_history(f"CMD {go_quote_list(args)}", layer=False)


def dispatch_entrypoint(planner: Planner, state: StageState, instr: Any, before: Scope) -> None:
    args = _command_args(state, instr.command, instr.shell_form)
    changes: dict[str, Any] = {"entrypoint": args, "args_escaped": True}
    if not state.cmd_set:
        changes["cmd"] = None
    state.config = replace(state.config, **changes)
    state.add_history(f"ENTRYPOINT {go_quote_list(args)}", layer=False)


def dispatch_workdir(planner: Planner, state: StageState, instr: Any, before: Scope) -> None:
    path = instr.path
    if not posixpath.isabs(path):
        path = posixpath.normpath(posixpath.join("/", state.config.working_dir or "/", path))
    state.config = replace(state.config, working_dir=path)
    if path == "/":
        state.add_history(f"WORKDIR {path}", layer=False)
        return
    vertex = dispatch_fs.workdir_vertex(state.vertex, path, state.config.user)
    name = state.prefix(dispatch_fs.display(instr.original))
    state.add_layer(
        Vertex(vertex.op, vertex.inputs, name=name, location=instr.location), f"WORKDIR {path}"
    )


_DISPATCH: dict[str, Callable[[Planner, StageState, Any, Scope], None]] = {
    "Env": dispatch_env,
    "Arg": dispatch_arg,
    "Label": dispatch_label,
    "Maintainer": dispatch_maintainer,
    "Expose": dispatch_expose,
    "User": dispatch_user,
    "Volume": dispatch_volume,
    "Stopsignal": dispatch_stopsignal,
    "Shell": dispatch_shell,
    "Onbuild": dispatch_onbuild,
    "Healthcheck": dispatch_healthcheck,
    "Cmd": dispatch_cmd,
    "Entrypoint": dispatch_entrypoint,
    "Workdir": dispatch_workdir,
    "Run": dispatch_fs.dispatch_run,
    "Copy": dispatch_fs.dispatch_copy,
    "Add": dispatch_fs.dispatch_add,
}


def plan_build(text: str | bytes, options: BuildOptions, resolve_image: ImageResolver) -> BuildPlan:
    """Compile a Dockerfile into the build graph of its target stage."""
    dockerfile = load_dockerfile(
        text,
        options.dockerfile_name,
        build_args=options.build_args,
        target=options.target,
    )
    planner = Planner(dockerfile, options, resolve_image)
    plans = []
    for stage in dockerfile.stages_needed():
        state = planner.stage_state(stage)
        plans.append(_stage_plan(state))
    target_state = planner.stage_state(dockerfile.target)
    target = _stage_plan(target_state)
    if options.labels:
        labels = dict(target.config.labels)
        labels.update(options.labels)
        target = StagePlan(
            index=target.index,
            name=target.name,
            vertex=target.vertex,
            config=replace(target.config, labels=labels),
            history=target.history,
            base=target.base,
            author=target.author,
            base_history=target.base_history,
            layer_steps=target.layer_steps,
        )
    return BuildPlan(
        target=target,
        stages=tuple(plans),
        context=planner.context,
        unused_build_args=tuple(dockerfile.unused_build_args()),
    )


def _stage_plan(state: StageState) -> StagePlan:
    return StagePlan(
        index=state.index,
        name=state.name,
        vertex=state.vertex,
        config=state.config,
        history=tuple(state.history),
        base=state.base,
        author=state.author,
        base_history=state.base_history,
        layer_steps=tuple(state.layer_steps),
    )
