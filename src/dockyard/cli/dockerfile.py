"""``dockyard dockerfile parse [--dump] FILE``: look at a Dockerfile the way the builder does.

``--dump`` prints BuildKit's AST dump (the format of its parser test ``result`` files);
without it the Dockerfile is fully checked (instructions, flags, ARGs in FROM) and
its stages are listed with their instructions. Warnings go to stderr.
"""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser, command: str) -> None:
    del command
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    parse = sub.add_parser("parse", help="parse a Dockerfile and print its structure")
    parse.add_argument("file", metavar="FILE", help="the Dockerfile, or - for standard input")
    parse.add_argument("--dump", action="store_true", help="print BuildKit's AST dump")
    parse.add_argument(
        "--build-arg",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a build argument (for the ARGs of FROM lines)",
    )
    parse.add_argument("--target", help="the stage to build (default: the last one)")


def _read(path: str) -> tuple[bytes, str]:
    from dockyard.errors import UsageError

    if path == "-":
        return sys.stdin.buffer.read(), "Dockerfile"
    try:
        with open(path, "rb") as handle:
            return handle.read(), path
    except OSError as error:
        raise UsageError(
            f"cannot read {path}: {error.strerror}", "give the path of a Dockerfile"
        ) from None


def _build_args(pairs: list[str]) -> dict[str, str]:
    import os

    values: dict[str, str] = {}
    for pair in pairs:
        name, has_value, value = pair.partition("=")
        if has_value:
            values[name] = value
        elif name in os.environ:  # like docker: --build-arg NAME takes the environment's value
            values[name] = os.environ[name]
    return values


def run(args: argparse.Namespace) -> int:
    data, filename = _read(args.file)
    if args.dump:
        from dockyard.dockerfile.dump import dump
        from dockyard.dockerfile.parser import parse

        parsed = parse(data, filename)
        sys.stdout.write(dump(parsed))
        _print_warnings(parsed.warnings, filename)
        return 0

    from dockyard.dockerfile.stages import load_dockerfile

    dockerfile = load_dockerfile(
        data, filename, build_args=_build_args(args.build_arg), target=args.target
    )
    out: list[str] = []
    for directive in dockerfile.parsed.directives:
        out.append(f"# {directive.name}={directive.value}")
    needed = {stage.index for stage in dockerfile.stages_needed()}
    for stage in dockerfile.stages:
        name = f" AS {stage.name}" if stage.name else ""
        platform = f" --platform={stage.platform}" if stage.platform else ""
        marks = (
            " (target)"
            if stage is dockerfile.target
            else ("" if stage.index in needed else " (unused)")
        )
        out.append(f"stage {stage.index}: FROM{platform} {stage.base}{name}{marks}")
        for instruction in stage.instructions:
            location = instruction.location
            lines = (
                f"{location.start_line}"
                if location.start_line == location.end_line
                else f"{location.start_line}-{location.end_line}"
            )
            out.append(f"  {lines:>7}  {instruction.original}")
    print("\n".join(out))
    _print_warnings(dockerfile.warnings, filename)
    unused = dockerfile.unused_build_args()
    if unused:
        print(f"warning: build arguments not consumed: {', '.join(unused)}", file=sys.stderr)
    return 0


def _print_warnings(warnings: tuple[object, ...], filename: str) -> None:
    for warning in warnings:
        line = getattr(warning, "line", 0)
        message = getattr(warning, "message", str(warning))
        print(f"warning: {filename}:{line}: {message}", file=sys.stderr)
