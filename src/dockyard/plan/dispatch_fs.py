"""Dispatch of the instructions that change the filesystem: RUN, COPY, ADD, WORKDIR."""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any

from dockyard.errors import DockerfileError
from dockyard.plan.config import run_shell
from dockyard.plan.graph import CopyAction, ExecOp, FileOp, MkdirAction, Mount, Vertex

if TYPE_CHECKING:
    from dockyard.dockerfile.stages import Scope
    from dockyard.plan.convert import Planner, StageState


def workdir_vertex(parent: Vertex, path: str, user: str) -> Vertex:
    return Vertex(FileOp(MkdirAction(path=path, mode=0o755, user=user)), (parent,))


def display(original: str) -> str:
    """The progress text of an instruction: its source line, keyword upper-cased."""
    keyword, _, rest = " ".join(original.split()).partition(" ")
    return f"{keyword.upper()} {rest}".rstrip()


def run_command_string(
    args: tuple[str, ...], build_args: tuple[tuple[str, str], ...], env: dict[str, str]
) -> str:
    """BuildKit's ``runCommandString``: ``|2 A=1 B=2 /bin/sh -c cmd``."""
    pairs = [f"{name}={env.get(name, value)}" for name, value in build_args]
    prefix = [f"|{len(pairs)}", *pairs] if pairs else []
    return " ".join([*prefix, *args])


def dispatch_run(planner: Planner, state: StageState, instr: Any, before: Scope) -> None:
    command = tuple(instr.command)
    args = (*run_shell(state.config), " ".join(command)) if instr.shell_form else command
    script_mounts: tuple[Mount, ...] = ()
    if instr.heredocs:
        args, script_mounts = _heredoc_args(state, command, instr)
    if not args:
        raise DockerfileError("RUN needs a command", instr.location)
    env_pairs = list(before.env.items())
    if not any(name == "PATH" for name, _ in env_pairs):
        from dockyard.oci.config import DEFAULT_PATH

        env_pairs.insert(0, ("PATH", DEFAULT_PATH))
    env = tuple(f"{name}={value}" for name, value in env_pairs)
    inputs: list[Vertex] = [state.vertex]
    mounts = tuple(_mount(planner, state, mount, inputs) for mount in instr.mounts)
    mounts += script_mounts
    network = instr.network or planner.options.network
    if network not in ("default", "none", "host"):
        raise DockerfileError(f"unsupported network mode {network!r}", instr.location)
    op = ExecOp(
        args=args,
        env=env,
        cwd=state.config.working_dir or "/",
        user=state.config.user,
        network=network,
        mounts=mounts,
        proxy_env=tuple(f"{name}={value}" for name, value in before.proxy_args.items()),
    )
    name = state.prefix(display(instr.original))
    vertex = Vertex(op, tuple(inputs), name=name, location=instr.location)
    history = run_command_string(args, tuple(state.declared_args), dict(env_pairs))
    state.add_layer(vertex, f"RUN {history} # buildkit")


def _heredoc_args(
    state: StageState, command: tuple[str, ...], instr: Any
) -> tuple[tuple[str, ...], tuple[Mount, ...]]:
    """BuildKit's RUN heredocs: a lone ``<<EOF`` runs its body with the shell, or as a
    script file mounted at /dev/pipes/ when it starts with ``#!``; any other command
    line is handed to the shell whole, heredocs included."""
    from dockyard.dockerfile.heredoc import parse_heredoc_word

    if len(command) != 1 or not instr.shell_form:
        raise DockerfileError("a RUN heredoc needs the shell form", instr.location)
    shell = run_shell(state.config)
    first = instr.heredocs[0]
    if parse_heredoc_word(command[0]) is not None:
        if first.text.startswith("#!"):
            target = posixpath.join("/dev/pipes", first.name)
            return (target,), (Mount(type="file", target=target, data=first.text, mode=0o755),)
        return (*shell, first.text), ()
    full = command[0]
    for heredoc in instr.heredocs:
        full += "\n" + heredoc.content + heredoc.name
    return (*shell, full), ()


def _mount(planner: Planner, state: StageState, mount: Any, inputs: list[Vertex]) -> Mount:
    kind = mount.type
    target = mount.target or ""
    if kind == "secret":
        secret_id = mount.id or posixpath.basename(target)
        if not secret_id:
            raise DockerfileError("secret mount needs an id or a target")
        return Mount(
            type="secret",
            target=target or f"/run/secrets/{secret_id}",
            secret_id=secret_id,
            required=mount.required,
            mode=mount.mode if mount.mode is not None else 0o400,
            uid=mount.uid or 0,
            gid=mount.gid or 0,
            env=mount.env or "",
        )
    if not target:
        raise DockerfileError(f"mount type {kind} needs a target")
    target = _absolute(target, state)
    if kind == "tmpfs":
        return Mount(type="tmpfs", target=target, readonly=False, size=mount.size)
    if kind == "cache":
        source_input = -1
        if mount.from_:
            inputs.append(planner.source_for(mount.from_, state))
            source_input = len(inputs) - 1
        return Mount(
            type="cache",
            target=target,
            input=source_input,
            source=mount.source or "/",
            readonly=mount.read_only,
            cache_id=mount.id or target,
            sharing=mount.sharing or "shared",
            mode=mount.mode if mount.mode is not None else 0o755,
            uid=mount.uid or 0,
            gid=mount.gid or 0,
        )
    if kind == "bind":
        source = planner.source_for(mount.from_, state) if mount.from_ else planner.context
        inputs.append(source)
        return Mount(
            type="bind",
            target=target,
            input=len(inputs) - 1,
            source=mount.source or "/",
            readonly=mount.read_only,
        )
    raise DockerfileError(
        f"unsupported mount type {kind!r}", hint="use bind, cache, tmpfs or secret"
    )


def _absolute(path: str, state: StageState) -> str:
    if posixpath.isabs(path):
        return path
    return posixpath.join("/", state.config.working_dir or "/", path)


def dispatch_copy(planner: Planner, state: StageState, instr: Any, before: Scope) -> None:
    _dispatch_copy(planner, state, instr, is_add=False)


def dispatch_add(planner: Planner, state: StageState, instr: Any, before: Scope) -> None:
    _dispatch_copy(planner, state, instr, is_add=True)


def _dispatch_copy(planner: Planner, state: StageState, instr: Any, *, is_add: bool) -> None:
    from_name = getattr(instr, "from_", None)
    source = planner.source_for(from_name, state) if from_name else planner.context
    dest = instr.dest
    action = CopyAction(
        sources=tuple(instr.sources),
        dest=dest,
        chown=instr.chown or "",
        chmod=instr.chmod or "",
        is_add=is_add,
        link=instr.link,
        parents=getattr(instr, "parents", False),
        excludes=tuple(instr.excludes),
        keep_git_dir=getattr(instr, "keep_git_dir", False),
        checksum=getattr(instr, "checksum", None) or "",
        unpack=getattr(instr, "unpack", None),
        contents=tuple((item.path, item.data) for item in instr.contents),
        workdir="" if posixpath.isabs(dest) else (state.config.working_dir or "/"),
    )
    name = state.prefix(display(instr.original))
    vertex = Vertex(FileOp(action), (state.vertex, source), name=name, location=instr.location)
    keyword = "ADD" if is_add else "COPY"
    words = [*instr.sources, *(item.path for item in instr.contents), dest]
    state.add_layer(vertex, f"{keyword} {' '.join(words)} # buildkit")
