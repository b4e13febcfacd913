"""``pull``, ``push``, ``login``: images to and from an OCI distribution registry."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


def configure(parser: argparse.ArgumentParser, command: str) -> None:
    if command == "login":
        parser.add_argument("server", metavar="SERVER", help="Registry host[:port]")
        parser.add_argument("-u", "--username", required=True, help="Username")
        parser.add_argument("-p", "--password", default=None, help="Password")
        parser.add_argument(
            "--password-stdin", action="store_true", help="Take the password from stdin"
        )
        return
    parser.add_argument("name", metavar="NAME[:TAG|@DIGEST]")
    if command == "push":
        parser.add_argument(
            "target", nargs="?", default=None, help="Push under another name (default: NAME)"
        )
    parser.add_argument("-q", "--quiet", action="store_true", help="Suppress progress output")


def _printer(quiet: bool) -> Callable[[str], None]:
    def emit(line: str) -> None:
        print(line, flush=True)

    def silent(_line: str) -> None:
        pass

    return silent if quiet else emit


def run(args: argparse.Namespace) -> int:
    from dockyard import api
    from dockyard.oci import ImageReference

    if args.command == "login":
        return _login(args)
    progress = _printer(args.quiet)
    if args.command == "pull":
        api.pull(args.name, progress=progress)
        reference = ImageReference.parse(args.name)
        print(reference if reference.digest else reference.with_default_tag())
        return 0
    digest = api.push(args.name, args.target, progress=progress)
    if args.quiet:
        print(digest)
    return 0


def _login(args: argparse.Namespace) -> int:
    from dockyard import api
    from dockyard.errors import UsageError

    password = args.password
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    if password is None:
        raise UsageError("no password given", "use --password or --password-stdin")
    api.login(args.server, args.username, password)
    print("Login Succeeded")
    return 0
