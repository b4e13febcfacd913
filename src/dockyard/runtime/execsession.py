"""``dockyard exec``: one more process in a running container (``runc exec``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence

from dockyard.errors import RuntimeError_
from dockyard.fs.passwd import resolve_exec_user
from dockyard.runtime.containers import current_state, merge_env
from dockyard.runtime.records import ContainerRecord, container_dir
from dockyard.runtime.runc import RuncContainer, start_error
from dockyard.runtime.spec import ProcessSpec, process_dict
from dockyard.runtime.supervisor import runc_container

_RUNC_FAILURE = b"runc exec failed: "


def _filter_stderr(read_fd: int) -> None:
    """Copies the exec's stderr, leaving out runc's own failure line (reported cleanly)."""
    with os.fdopen(read_fd, "rb", buffering=0) as source:
        while chunk := source.read(65536):
            if chunk.startswith(_RUNC_FAILURE):
                continue
            sys.stderr.buffer.write(chunk)
            sys.stderr.buffer.flush()


def exec_in_container(
    record: ContainerRecord,
    args: Sequence[str],
    *,
    env: Sequence[str] = (),
    user: str | None = None,
    workdir: str | None = None,
    interactive: bool = False,
    tty: bool = False,
    detach: bool = False,
) -> int:
    """Runs ``args`` in the container with our stdio; returns its exit code."""
    if current_state(record).status != "running":
        raise RuntimeError_(
            f"container {record.name} is not running", "start one with 'dockyard run -d'"
        )
    directory = container_dir(record.id)
    exec_user = resolve_exec_user(directory / "rootfs", record.user if user is None else user)
    environment = merge_env(record.env, env)
    if not any(item.startswith("HOME=") for item in environment):
        environment.append(f"HOME={exec_user.home}")
    process = ProcessSpec(
        args=tuple(args),
        env=tuple(environment),
        cwd=workdir or record.cwd,
        uid=exec_user.uid,
        gid=exec_user.gid,
        additional_gids=exec_user.additional_gids,
        terminal=tty,
    )
    base = runc_container(record)
    exec_id = os.urandom(6).hex()
    process_file = directory / f"exec-{exec_id}.json"
    log_file = directory / f"exec-{exec_id}.log"
    process_file.write_text(json.dumps(process_dict(process)))
    container = RuncContainer(record.id, base.bundle, base.state_root)
    command = container.command_with_log(
        log_file, "exec", "--process", str(process_file), *(["--detach"] if detach else [])
    )
    stdin = None if interactive or tty else subprocess.DEVNULL
    try:
        if tty:
            result = subprocess.run([*command, record.id], stdin=stdin, check=False)
        else:
            read_fd, write_fd = os.pipe()
            copier = threading.Thread(target=_filter_stderr, args=(read_fd,), daemon=True)
            copier.start()
            try:
                result = subprocess.run(
                    [*command, record.id], stdin=stdin, stderr=write_fd, check=False
                )
            finally:
                os.close(write_fd)
            copier.join(5)
        if result.returncode != 0:
            message = RuncContainer.error_in(log_file)
            if message:
                message = message.removeprefix("runc exec failed: ").removeprefix("exec failed: ")
                message = message.removeprefix("unable to start container process: ")
                raise start_error(message) or RuntimeError_(f"exec failed: {message}")
        return result.returncode
    finally:
        process_file.unlink(missing_ok=True)
        log_file.unlink(missing_ok=True)
