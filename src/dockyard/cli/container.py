"""``dockyard run``, ``ps``, ``logs``, ``stop``, ``kill``, ``rm``, ``exec``, ``wait``,
``container …``: Docker's container commands over :mod:`dockyard.runtime`."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import DockyardError, UsageError

if TYPE_CHECKING:
    from dockyard.runtime.containers import ImageInfo
    from dockyard.runtime.records import ContainerRecord, ContainerState

_CONTAINER_SUBCOMMANDS = (
    *("ls", "ps", "list", "prune", "inspect", "rm"),
    *("stop", "kill", "logs", "wait", "exec", "run"),
)


def configure(parser: argparse.ArgumentParser, command: str) -> None:
    if command == "container":
        parser.add_argument("subcommand", choices=_CONTAINER_SUBCOMMANDS)
        parser.add_argument("rest", nargs=argparse.REMAINDER)
        return
    _CONFIGURE[command](parser)


def _configure_run(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("-d", "--detach", action="store_true", help="run in the background, print the id")
    add("--rm", action="store_true", help="remove the container when it exits")
    add("--name", default="", help="name of the container")
    add("-p", "--publish", action="append", default=[], metavar="[IP:]HOST:CTR[/PROTO]")
    add("-P", "--publish-all", action="store_true", help="publish exposed ports to free ports")
    add("-e", "--env", action="append", default=[], metavar="K=V")
    add("--env-file", action="append", default=[], metavar="FILE")
    add("-v", "--volume", action="append", default=[], metavar="SRC:DST[:ro]")
    add("--tmpfs", action="append", default=[], metavar="PATH")
    add("-w", "--workdir", default="")
    add("-u", "--user", default=None)
    add("--entrypoint", default=None)
    add("--hostname", default="")
    add("--network", "--net", default="private", help="private (default), host or none")
    add("-m", "--memory", default=None, help="memory limit, e.g. 256m")
    add("--cpus", type=float, default=None)
    add("--pids-limit", type=int, default=None)
    add("--read-only", action="store_true", help="mount the root file system read-only")
    add("--init", action="store_true", help="run an init as pid 1 that reaps zombies")
    add("--stop-timeout", type=int, default=None)
    add("-i", "--interactive", action="store_true")
    add("-t", "--tty", action="store_true")
    add("--rootfs", action="store_true", help="IMAGE is the path of a root file system")
    add("image")
    add("cmd", nargs=argparse.REMAINDER)


def _configure_ps(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--all", action="store_true", help="show stopped containers too")
    parser.add_argument("-q", "--quiet", action="store_true", help="only ids")
    parser.add_argument("--no-trunc", action="store_true")


def _configure_logs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--follow", action="store_true")
    parser.add_argument("-n", "--tail", default="all")
    parser.add_argument("-t", "--timestamps", action="store_true")
    parser.add_argument("container")


def _configure_stop(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-t", "--time", type=int, default=None, help="seconds before SIGKILL")
    parser.add_argument("containers", nargs="+")


def _configure_kill(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-s", "--signal", default="KILL")
    parser.add_argument("containers", nargs="+")


def _configure_rm(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--force", action="store_true")
    parser.add_argument("-v", "--volumes", action="store_true")
    parser.add_argument("containers", nargs="+")


def _configure_exec(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-i", "--interactive", action="store_true")
    parser.add_argument("-t", "--tty", action="store_true")
    parser.add_argument("-d", "--detach", action="store_true")
    parser.add_argument("-e", "--env", action="append", default=[])
    parser.add_argument("-u", "--user", default=None)
    parser.add_argument("-w", "--workdir", default=None)
    parser.add_argument("container")
    parser.add_argument("cmd", nargs=argparse.REMAINDER)


def _configure_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("containers", nargs="+")


def _configure_inspect(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("containers", nargs="+")


def _configure_prune(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--force", action="store_true")


_CONFIGURE: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "run": _configure_run,
    "ps": _configure_ps,
    "ls": _configure_ps,
    "list": _configure_ps,
    "logs": _configure_logs,
    "stop": _configure_stop,
    "kill": _configure_kill,
    "rm": _configure_rm,
    "exec": _configure_exec,
    "wait": _configure_wait,
    "inspect": _configure_inspect,
    "prune": _configure_prune,
}


def run(args: argparse.Namespace) -> int:
    command = args.command
    if command == "container":
        sub = argparse.ArgumentParser(prog=f"dockyard container {args.subcommand}")
        _CONFIGURE[args.subcommand](sub)
        parsed = sub.parse_args(args.rest)
        parsed.command = args.subcommand
        return run(parsed)
    handler = _HANDLERS["ps" if command in ("ls", "list") else command]
    return handler(args)


# -- run ------------------------------------------------------------------------


def _read_env_files(files: list[str]) -> list[str]:
    entries: list[str] = []
    for name in files:
        try:
            text = Path(name).read_text()
        except OSError as error:
            raise UsageError(f"cannot read --env-file {name}: {error.strerror}") from None
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                entries.append(line)
    return entries


def _run(args: argparse.Namespace) -> int:
    """Like ``docker run``: 125 when dockyard itself fails (image, name, port…),
    126/127 when the command cannot be run, else the container's exit code."""
    from dockyard.errors import ContainerStartError

    try:
        return _create_and_run(args)
    except DockyardError as error:
        if not isinstance(error, UsageError | ContainerStartError):
            error.exit_code = 125
        raise


def _create_and_run(args: argparse.Namespace) -> int:
    from dockyard.runtime.containers import RunOptions, create_container, parse_size
    from dockyard.runtime.ports import parse_publish

    options = RunOptions(
        name=args.name,
        command=tuple(args.cmd),
        entrypoint=args.entrypoint,
        env=(*_read_env_files(args.env_file), *args.env),
        workdir=args.workdir,
        user=args.user,
        hostname=args.hostname,
        network=args.network,
        publish=tuple(parse_publish(spec) for spec in args.publish),
        publish_all=args.publish_all,
        volumes=tuple(args.volume),
        tmpfs=tuple(args.tmpfs),
        readonly_rootfs=args.read_only,
        memory_bytes=parse_size(args.memory) if args.memory else None,
        cpus=args.cpus,
        pids_limit=args.pids_limit,
        auto_remove=args.rm,
        init=args.init,
        tty=args.tty,
        interactive=args.interactive,
        stop_timeout=args.stop_timeout,
    )
    if options.publish and options.network != "private":
        print(
            f"warning: published ports are discarded with --network {options.network}",
            file=sys.stderr,
        )
    image = _image_info(args.image, rootfs=args.rootfs)
    record = create_container(image, options)
    if image.id:
        from dockyard.runtime.leases import lease_image

        lease_image(record.id, image.id)
    if args.detach:
        from dockyard.runtime.supervisor import start_detached

        start_detached(record)
        print(record.id)
        return 0
    return _run_foreground(record)


def _image_info(reference: str, *, rootfs: bool) -> ImageInfo:
    from dockyard.runtime.containers import ImageInfo

    if rootfs:
        path = Path(reference).resolve()
        if not path.is_dir():
            raise UsageError(f"--rootfs: {reference} is not a directory")
        return ImageInfo(reference=str(path), id="", lowerdirs=(path,))
    return _store_image(reference)


def _store_image(reference: str) -> ImageInfo:
    from dockyard.runtime.images import image_info

    return image_info(reference)


def _run_foreground(record: ContainerRecord) -> int:
    from dockyard.runtime.executor import fd_writer
    from dockyard.runtime.supervisor import Supervisor

    supervisor = Supervisor(record)
    previous = {
        signum: signal.signal(signum, lambda *_: supervisor.request_stop())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        stdin = sys.stdin.fileno() if record.interactive else None
        sys.stdout.flush()
        if record.tty and record.interactive:
            from dockyard.runtime.console import attached_terminal

            with attached_terminal(lambda: supervisor.master):
                supervisor.start(stdin=stdin, stdout=fd_writer(1), stderr=fd_writer(2))
                status = supervisor.wait()
        else:
            supervisor.start(stdin=stdin, stdout=fd_writer(1), stderr=fd_writer(2))
            status = supervisor.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return status.exit_code


# -- ps, logs, inspect --------------------------------------------------------------


def _ago(stamp: str) -> str:
    from datetime import UTC, datetime

    if not stamp:
        return ""
    then = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    seconds = int((datetime.now(UTC) - then).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "Less than a second" if seconds < 1 else f"{seconds} seconds"


def _status(state: ContainerState) -> str:
    if state.status == "running":
        return f"Up {_ago(state.started_at)}"
    if state.status == "exited":
        return f"Exited ({state.exit_code}) {_ago(state.finished_at)} ago"
    return "Created"


def _ps(args: argparse.Namespace) -> int:
    from dockyard.runtime.containers import list_containers

    listed = list_containers(include_all=args.all)
    if args.quiet:
        for record, _ in listed:
            print(record.id if args.no_trunc else record.short_id)
        return 0
    rows = [("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES")]
    for record, state in listed:
        command = " ".join(record.args)
        if not args.no_trunc and len(command) > 20:
            command = command[:19] + "…"
        ports = ", ".join(str(port) for port in record.ports) if state.status == "running" else ""
        rows.append(
            (
                record.id if args.no_trunc else record.short_id,
                record.image,
                f'"{command}"',
                f"{_ago(record.created)} ago",
                _status(state),
                ports,
                record.name,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def _logs(args: argparse.Namespace) -> int:
    from dockyard.runtime.containers import current_state
    from dockyard.runtime.logs import read_logs
    from dockyard.runtime.records import container_dir, find

    record = find(args.container)
    tail = None if args.tail == "all" else int(args.tail)
    follow = (lambda: current_state(record).status == "running") if args.follow else None
    out, err = sys.stdout.buffer, sys.stderr.buffer
    for stream, data in read_logs(container_dir(record.id) / "log.json", tail=tail, follow=follow):
        target = err if stream == "stderr" else out
        target.write(data)
        target.flush()
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from dockyard.runtime.inspect import inspect_container

    print(json.dumps([inspect_container(name) for name in args.containers], indent=4))
    return 0


# -- stop, kill, rm, wait, prune ------------------------------------------------------


def _each(names: list[str], action: Callable[[str], None]) -> int:
    """Docker's multi-container commands: report each failure, go on, exit 1 if any."""
    failed = False
    for name in names:
        try:
            action(name)
            print(name)
        except DockyardError as error:
            print(f"error: {error.message}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


def _stop(args: argparse.Namespace) -> int:
    from dockyard.runtime.containers import stop
    from dockyard.runtime.records import find

    return _each(args.containers, lambda name: stop(find(name), args.time))


def _kill(args: argparse.Namespace) -> int:
    from dockyard.runtime.containers import kill, parse_signal
    from dockyard.runtime.records import find

    signum = parse_signal(args.signal)
    return _each(args.containers, lambda name: kill(find(name), signum))


def _rm(args: argparse.Namespace) -> int:
    from dockyard.runtime.containers import remove
    from dockyard.runtime.records import find

    return _each(
        args.containers,
        lambda name: remove(find(name), force=args.force, volumes_too=args.volumes),
    )


def _wait(args: argparse.Namespace) -> int:
    from dockyard.runtime.containers import wait_exited
    from dockyard.runtime.records import find

    failed = False
    for name in args.containers:
        try:
            state = wait_exited(find(name))
        except DockyardError as error:
            print(f"error: {error.message}", file=sys.stderr)
            failed = True
            continue
        print(state.exit_code if state is not None and state.exit_code is not None else 0)
    return 1 if failed else 0


def _prune(args: argparse.Namespace) -> int:
    from dockyard.runtime.containers import list_containers, remove

    removed = [record for record, state in list_containers(True) if state.status != "running"]
    for record in removed:
        remove(record)
    print("Deleted Containers:")
    for record in removed:
        print(record.id)
    return 0


def _exec(args: argparse.Namespace) -> int:
    from dockyard.runtime.execsession import exec_in_container
    from dockyard.runtime.records import find

    if not args.cmd:
        raise UsageError("exec needs a command", "dockyard exec CONTAINER COMMAND [ARG...]")
    return exec_in_container(
        find(args.container),
        tuple(args.cmd),
        env=tuple(args.env),
        user=args.user,
        workdir=args.workdir,
        interactive=args.interactive,
        tty=args.tty,
        detach=args.detach,
    )


_HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": _run,
    "ps": _ps,
    "logs": _logs,
    "stop": _stop,
    "kill": _kill,
    "rm": _rm,
    "exec": _exec,
    "wait": _wait,
    "inspect": _inspect,
    "prune": _prune,
}
