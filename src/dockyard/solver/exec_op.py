"""The exec op: a RUN under runc over an overlay of its parent snapshot.

As BuildKit's runc executor: the working directory is created if missing, USER is
resolved through the image's own /etc/passwd and /etc/group, /etc/hosts and
/etc/resolv.conf are bind-mounted (BuildKit's content, hostname
``buildkitsandbox``), and mount points that runc had to create for the step's own
mounts (``/etc/hosts`` in an image without one, a cache mount target...) are removed
from the upper directory afterwards so they do not end up in the layer.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from dockyard.errors import BuildError, DockyardError
from dockyard.fs.passwd import resolve_exec_user
from dockyard.plan.graph import ExecOp, Mount, Vertex
from dockyard.solver.results import ContextDir, Result, Snapshot
from dockyard.solver.workarea import mounted

if TYPE_CHECKING:
    from dockyard.runtime.spec import MountSpec
    from dockyard.solver.solve import VertexSolver

_CACHE_LOCKS: dict[str, threading.Lock] = {}
_CACHE_LOCKS_GUARD = threading.Lock()


def _missing_top(root: Path, destination: str) -> str | None:
    """The first component of ``destination`` that does not exist under ``root``."""
    parts = [part for part in destination.split("/") if part and part != "."]
    current = ""
    for part in parts:
        current = f"{current}/{part}"
        if not os.path.lexists(str(root) + current):
            return current.lstrip("/")
        if not os.path.isdir(str(root) + current) or os.path.islink(str(root) + current):
            return None
    return None


def _remove_stub(upper: Path, relative: str) -> None:
    path = upper / relative
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _cache_dir(solver: VertexSolver, mount: Mount) -> Path:
    digest = hashlib.sha256(mount.cache_id.encode()).hexdigest()[:32]
    path = solver.store.root / "cache-mounts" / digest
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".tmp-{digest}-{os.getpid()}-{threading.get_ident()}"
        tmp.mkdir(exist_ok=True)
        os.chown(tmp, mount.uid or 0, mount.gid or 0)
        os.chmod(tmp, mount.mode if mount.mode is not None else 0o755)
        try:
            os.rename(tmp, path)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
    return path


def _cache_lock(cache_id: str) -> threading.Lock:
    with _CACHE_LOCKS_GUARD:
        return _CACHE_LOCKS.setdefault(cache_id, threading.Lock())


@contextlib.contextmanager
def _run_mounts(
    solver: VertexSolver, op: ExecOp, inputs: Sequence[Result]
) -> Iterator[list[MountSpec]]:
    from dockyard.fs.safepath import resolve_in_root
    from dockyard.runtime.spec import MountSpec

    specs: list[MountSpec] = []
    with contextlib.ExitStack() as stack:
        for mount in op.mounts:
            if mount.type == "tmpfs":
                options = [f"size={mount.size}"] if mount.size else []
                specs.append(MountSpec.tmpfs(mount.target, options))
            elif mount.type == "cache":
                if mount.sharing == "locked":
                    stack.enter_context(_cache_lock(mount.cache_id))
                path = _cache_dir(solver, mount)
                specs.append(MountSpec.bind(path, mount.target, readonly=mount.readonly))
            elif mount.type == "file":
                script = solver.area.new_dir("file") / "content"
                script.write_text(mount.data)
                script.chmod(mount.mode if mount.mode is not None else 0o644)
                specs.append(MountSpec.bind(script, mount.target, readonly=True))
            elif mount.type == "secret":
                spec = _secret(solver, mount)
                if spec is not None:
                    specs.append(spec)
            elif mount.type == "bind":
                source = inputs[mount.input]
                if isinstance(source, ContextDir):
                    base = source.path
                else:
                    assert isinstance(source, Snapshot)
                    lowers = solver.lowerdirs(source)
                    base, _ = stack.enter_context(mounted(solver.area, lowers, writable=False))
                path = resolve_in_root(base, mount.source)
                if not path.exists():
                    raise BuildError(
                        f"bind mount source {mount.source} not found",
                        "check the source= path of the RUN --mount",
                    )
                if not mount.readonly and path.is_dir():
                    # rw binds are copy-on-write: changes are thrown away after the step.
                    path, _ = stack.enter_context(mounted(solver.area, [path]))
                specs.append(MountSpec.bind(path, mount.target, readonly=mount.readonly))
        yield specs


def _secret(solver: VertexSolver, mount: Mount) -> MountSpec | None:
    from dockyard.runtime.spec import MountSpec

    source = solver.options.secrets.get(mount.secret_id)
    if source is None:
        if mount.required:
            raise BuildError(
                f"secret {mount.secret_id} not found",
                f"pass it with --secret id={mount.secret_id},src=FILE",
            )
        return None
    copy = solver.area.new_dir("secret") / "value"
    shutil.copyfile(source, copy)
    os.chown(copy, mount.uid or 0, mount.gid or 0)
    os.chmod(copy, mount.mode if mount.mode is not None else 0o400)
    return MountSpec.bind(copy, mount.target, readonly=True)


def run_exec(
    solver: VertexSolver,
    vertex: Vertex,
    op: ExecOp,
    merged: Path,
    upper: Path,
    inputs: Sequence[Result],
) -> Callable[[], None]:
    """Run the step in ``merged``; returns the clean-up to apply to ``upper`` afterwards."""
    from dockyard.fs.safepath import resolve_in_root
    from dockyard.runtime.executor import run_process
    from dockyard.runtime.spec import ProcessSpec

    user = resolve_exec_user(merged, op.user)
    cwd = resolve_in_root(merged, op.cwd)
    if not cwd.exists():
        cwd.mkdir(mode=0o755, parents=True)
    # BuildKit (Docker 20.10's) removes only the /etc/hosts and /etc/resolv.conf stubs;
    # mount points of RUN --mount targets stay in the layer.
    destinations = ["/etc/hosts", "/etc/resolv.conf"]
    stubs = {top for top in (_missing_top(merged, d) for d in destinations) if top}
    process = ProcessSpec(
        args=op.args,
        env=(*op.env, *op.proxy_env),
        cwd=op.cwd,
        uid=user.uid,
        gid=user.gid,
        additional_gids=user.additional_gids,
    )
    network: Literal["none", "host"] = "none" if op.network == "none" else "host"
    output = solver.on_output(vertex)
    with _run_mounts(solver, op, inputs) as mounts:
        try:
            status = run_process(
                merged,
                process,
                mounts=mounts,
                network=network,
                stdout=output,
                stderr=output,
                root=solver.store.root,
            )
        except DockyardError as error:
            exit_code = getattr(error, "exit_code", 1)
            raise _failure(solver, vertex, op, exit_code, error.message) from error
    if solver.cancel.is_set():
        raise KeyboardInterrupt
    if status.exit_code != 0:
        raise _failure(solver, vertex, op, status.exit_code, None)

    def cleanup() -> None:
        for stub in stubs:
            _remove_stub(upper, stub)

    return cleanup


def _failure(
    solver: VertexSolver, vertex: Vertex, op: ExecOp, exit_code: int, detail: str | None
) -> BuildError:
    command = " ".join(op.args)
    where = f"{vertex.location}: " if vertex.location else ""
    name = vertex.name or "RUN"
    message = (
        f"{where}{name}: process {command!r} did not complete successfully: exit code: {exit_code}"
    ).replace(f"{command!r}", f'"{command}"')
    if detail:
        message += f"\n{detail}"
    tail = solver.progress.tail(vertex.digest)
    if tail:
        message += "\nlast lines of its output:\n" + "\n".join(f"  {line}" for line in tail)
    error = BuildError(message, "fix the command; the lines above are the end of its output")
    error.exit_code = 1
    return error


def kill_own_containers(root: Path) -> None:
    """SIGKILL the build containers this process started (Ctrl-C, a failed sibling)."""
    from dockyard.runtime.paths import runc_state_root
    from dockyard.runtime.runc import RuncContainer, list_containers, process_identity

    me = process_identity(os.getpid())
    state_root = runc_state_root(root)
    for entry in list_containers(state_root):
        bundle = Path(str(entry.get("bundle", "")))
        try:
            owner = (bundle / "owner").read_text().strip()
        except OSError:
            continue
        if owner == me:
            container = RuncContainer(str(entry.get("id")), bundle, state_root)
            with contextlib.suppress(Exception):
                container.kill(signal.SIGKILL)
