"""``dockyard bootstrap NAME[:TAG]``: a Debian base image made with debootstrap."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument("name", metavar="NAME[:TAG]", help="name of the image to create")
    parser.add_argument("--suite", default="bookworm", help="Debian suite (default: bookworm)")
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="PKG,...",
        help="extra packages to install (comma-separated, repeatable)",
    )
    parser.add_argument(
        "--ca-certificates",
        type=Path,
        metavar="FILE",
        help="PEM file of extra CAs to trust in the image (also sets NODE_EXTRA_CA_CERTS)",
    )
    parser.add_argument(
        "--mirror", help="apt mirror URL (default: the one configured on this machine)"
    )
    parser.add_argument(
        "--refresh", action="store_true", help="run debootstrap again instead of the cached tree"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the image id")


def run(args: argparse.Namespace) -> int:
    from dockyard.api import bootstrap

    packages = tuple(
        package.strip() for value in args.include for package in value.split(",") if package.strip()
    )

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"bootstrap: {message}", file=sys.stderr, flush=True)

    image = bootstrap(
        args.name,
        suite=args.suite,
        include=packages,
        ca_certificates=args.ca_certificates,
        mirror=args.mirror,
        refresh=args.refresh,
        progress=progress,
    )
    if args.quiet:
        print(image.id)
    else:
        print(f"Successfully built {image.id.short}")
        for name in image.repo_tags:
            print(f"Successfully tagged {name}")
    return 0
