"""Entry point of the ``dockyard`` command.

Start-up is part of the speed budget, so nothing is imported until the command
is known: the table below maps each command to the module that implements it, and
only that module is loaded. Each command module provides::

    def configure(parser: argparse.ArgumentParser, command: str) -> None
    def run(args: argparse.Namespace) -> int
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from collections.abc import Sequence


class Command:
    """One command: its name, the module that implements it, its line of help.

    (A plain class: ``typing.NamedTuple`` or a dataclass would cost the no-op
    rebuild several milliseconds of imports.)
    """

    __slots__ = ("module", "name", "summary")

    def __init__(self, name: str, module: str, summary: str) -> None:
        self.name = name
        self.module = module
        self.summary = summary


COMMANDS: tuple[Command, ...] = (
    Command("build", "dockyard.cli.build", "Build an image from a Dockerfile"),
    Command("bootstrap", "dockyard.cli.bootstrap", "Create a Debian base image with debootstrap"),
    Command("run", "dockyard.cli.container", "Create and run a container from an image"),
    Command("ps", "dockyard.cli.container", "List containers"),
    Command("logs", "dockyard.cli.container", "Fetch the logs of a container"),
    Command("stop", "dockyard.cli.container", "Stop running containers"),
    Command("kill", "dockyard.cli.container", "Send a signal to running containers"),
    Command("rm", "dockyard.cli.container", "Remove containers"),
    Command("exec", "dockyard.cli.container", "Run a command in a running container"),
    Command("wait", "dockyard.cli.container", "Wait for containers to stop, print exit codes"),
    Command("container", "dockyard.cli.container", "Manage containers (prune, ls, inspect)"),
    Command("images", "dockyard.cli.images", "List images"),
    Command("image", "dockyard.cli.images", "Manage images (ls, rm, prune, inspect, history)"),
    Command("tag", "dockyard.cli.images", "Create a tag TARGET that refers to SOURCE"),
    Command("rmi", "dockyard.cli.images", "Remove images"),
    Command("history", "dockyard.cli.images", "Show the history of an image"),
    Command("inspect", "dockyard.cli.inspect", "Show details of images or containers"),
    Command("import", "dockyard.cli.archive", "Create an image from a tarball or directory"),
    Command("load", "dockyard.cli.archive", "Load images from a docker-archive or oci-archive"),
    Command("save", "dockyard.cli.archive", "Save images to a docker-archive or oci-archive"),
    Command("pull", "dockyard.cli.registry", "Download an image from a registry"),
    Command("push", "dockyard.cli.registry", "Upload an image to a registry"),
    Command("login", "dockyard.cli.registry", "Log in to a registry"),
    Command("system", "dockyard.cli.system", "Manage the store (df, check, prune)"),
    Command("dockerfile", "dockyard.cli.dockerfile", "Dockerfile tools (parse --dump)"),
)

_BY_NAME = {command.name: command for command in COMMANDS}

# Commands that never touch the store, and `build`, which recovers on its own before it
# takes its first lock, skip the crash recovery below.
_NO_RECOVERY = frozenset({"dockerfile", "build"})


def _print_overview() -> None:
    from dockyard import __version__

    lines = [
        f"dockyard {__version__}: build and run OCI images, no daemon",
        "",
        "usage: dockyard COMMAND [OPTIONS] [ARGS]...",
        "",
        "commands:",
    ]
    lines += [f"  {command.name:<12}{command.summary}" for command in COMMANDS]
    lines += ["", "Run 'dockyard COMMAND --help' for more on a command."]
    print("\n".join(lines))


def _dispatch(argv: Sequence[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        _print_overview()
        return 0 if argv else 2
    if argv[0] in ("-v", "--version", "version"):
        from dockyard import __version__

        print(f"dockyard version {__version__}")
        return 0
    name, rest = argv[0], list(argv[1:])
    command = _BY_NAME.get(name)
    if command is None:
        from dockyard.errors import UsageError

        raise UsageError(
            f"unknown command: {name!r}", "run 'dockyard --help' for the list of commands"
        )
    quick = None
    if name == "build":
        from dockyard.cli import quickbuild

        quick = quickbuild.parse(rest)
        answered = None if quick is None else quickbuild.unchanged_rebuild(quick)
        if answered is not None:
            return answered
    import argparse

    module = importlib.import_module(command.module)
    parser = argparse.ArgumentParser(prog=f"dockyard {name}", description=command.summary)
    module.configure(parser, name)
    args = parser.parse_args(rest)
    args.command = name
    if quick is not None:
        # The hand-read route asked the build record already (and missed), or stopped at
        # an input the full command reports: either way there is no record to ask again.
        args.record_checked = True
    if name not in _NO_RECOVERY:
        _recover_from_killed_commands()
    result: int = module.run(args)
    return result


def _recover_from_killed_commands() -> None:
    """Remove what a dockyard killed with -9 left: overlay mounts, runc containers, work dirs.

    Cheap when there is nothing to do (a few stat calls); owners still alive are left alone.
    """
    from dockyard.store.files import default_root

    root = default_root()
    if root.is_dir():
        from dockyard.solver.workarea import cleanup_stale

        cleanup_stale(root)


def main(argv: Sequence[str] | None = None) -> int:
    from dockyard.errors import DockyardError

    if argv is None:
        argv = sys.argv[1:]
    try:
        return _dispatch(argv)
    except DockyardError as error:
        print(f"error: {error.message}", file=sys.stderr)
        if error.hint and error.hint not in error.message:
            print(f"hint: {error.hint}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`dockyard images | head`); say nothing more.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    raise SystemExit(main())


def run() -> int:
    """The ``dockyard`` program (console script and ``python -m dockyard``): ``main()``.

    A command allocates few reference cycles, but loading its modules allocates many
    objects, and with the default threshold the collector walks them some forty
    times per build to free almost nothing: collect only every 100,000 allocations.
    At exit the interpreter collects once more over every object of every module:
    frozen, they are skipped (finalizers and ``atexit`` handlers still run).
    """
    gc.set_threshold(100_000)
    code = main()
    gc.freeze()
    return code
