"""``import``, ``load``, ``save``: images in and out of tarballs."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser, command: str) -> None:
    if command == "import":
        parser.add_argument("source", metavar="FILE|DIR|-")
        parser.add_argument("name", nargs="?", metavar="REPOSITORY[:TAG]")
        parser.add_argument(
            "-c",
            "--change",
            action="append",
            default=[],
            help="Apply a Dockerfile instruction (CMD, ENV, …) to the image",
        )
        parser.add_argument("-m", "--message", default="", help="Commit message")
        parser.add_argument("--platform", default="linux/amd64", help="Only linux/amd64")
    elif command == "load":
        parser.add_argument(
            "-i", "--input", default="-", help="Read from a tar file (default STDIN)"
        )
        parser.add_argument("-q", "--quiet", action="store_true", help="Suppress output")
    else:
        parser.add_argument(
            "-o", "--output", default=None, help="Write to a file (default: stdout)"
        )
        parser.add_argument(
            "--format",
            choices=("docker", "oci"),
            default="docker",
            help="docker-archive (docker load) or oci-archive",
        )
        parser.add_argument("images", nargs="+", metavar="IMAGE")


def run(args: argparse.Namespace) -> int:
    if args.command == "import":
        return _import(args)
    if args.command == "load":
        return _load(args)
    return _save(args)


def _import(args: argparse.Namespace) -> int:
    from dockyard import api
    from dockyard.errors import UsageError

    if args.platform not in ("linux/amd64", "linux", "amd64"):
        raise UsageError(f"unsupported platform {args.platform!r}", "only linux/amd64")
    if args.source == "-":
        image = api.import_image(sys.stdin.buffer, args.name, args.change, args.message)
    else:
        if "://" in args.source:
            raise UsageError(
                "importing from a URL is not supported", "download the file first, then import it"
            )
        image = api.import_image(Path(args.source), args.name, args.change, args.message)
    print(image.id)
    return 0


def _load(args: argparse.Namespace) -> int:
    from dockyard import api
    from dockyard.errors import ArchiveError

    if args.input == "-":
        if sys.stdin.isatty():
            raise ArchiveError(
                "requested load from stdin, but stdin is empty", "use -i FILE or pipe an archive in"
            )
        loaded = api.load(sys.stdin.buffer)
    else:
        loaded = api.load(Path(args.input))
    if not args.quiet:
        for item in loaded:
            if item.names:
                for name in item.names:
                    print(f"Loaded image: {name.familiar()}")
            else:
                print(f"Loaded image ID: {item.image.id}")
    return 0


def _save(args: argparse.Namespace) -> int:
    from dockyard import api
    from dockyard.errors import ArchiveError

    if args.output is None or args.output == "-":
        if sys.stdout.isatty():
            raise ArchiveError(
                "cowardly refusing to save to a terminal", "use -o FILE or redirect the output"
            )
        sys.stdout.flush()
        api.save(args.images, sys.stdout.buffer, args.format)
        return 0
    target = Path(args.output)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        with open(partial, "wb") as out:
            api.save(args.images, out, args.format)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    except OSError as error:
        raise ArchiveError(f"cannot write {target}: {error.strerror}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return 0
