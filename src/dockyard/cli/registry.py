"""``pull``, ``push``, ``login``: images to and from an OCI distribution registry."""

from __future__ import annotations

import argparse
import sys


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


def _progress(args: argparse.Namespace) -> object:
    def emit(line: str) -> None:
        print(line, flush=True)

    def silent(_line: str) -> None:
        pass

    return silent if args.quiet else emit


def run(args: argparse.Namespace) -> int:
    from dockyard import api

    if args.command == "login":
        return _login(args)
    progress = _progress(args)
    if args.command == "pull":
        image = api.pull(args.name, progress=progress)  # type: ignore[arg-type]
        if args.quiet:
            print(image.names[0] if image.names else image.manifest_digest)
        else:
            print(f"{args.name if '/' in args.name else image.repo_tags[0]}")
        return 0
    digest = api.push(args.name, args.target, progress=progress)  # type: ignore[arg-type]
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
