"""``system df|check|prune`` (and ``image prune``): the store's upkeep."""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser, command: str) -> None:
    sub = parser.add_subparsers(dest="subcommand", required=True, metavar="COMMAND")
    sub.add_parser("df", help="Show disk usage")
    check = sub.add_parser("check", help="Verify every blob, name and unpacked layer")
    check.add_argument("-q", "--quiet", action="store_true", help="Only print problems")
    prune = sub.add_parser("prune", help="Remove unused data")
    prune.add_argument(
        "-a", "--all", action="store_true", help="Remove all unused images, not just dangling ones"
    )
    prune.add_argument("-f", "--force", action="store_true", help="Do not prompt")


def run(args: argparse.Namespace) -> int:
    if args.subcommand == "df":
        return _df()
    if args.subcommand == "check":
        return _check(args.quiet)
    return prune_images(args.all, args.force, system=True)


def _confirm(message: str, force: bool) -> bool:
    if force:
        return True
    print(f"WARNING! {message}\nAre you sure you want to continue? [y/N] ", end="", flush=True)
    answer = sys.stdin.readline().strip().lower() if sys.stdin.isatty() else ""
    if not sys.stdin.isatty():
        print()
    return answer in ("y", "yes")


def prune_images(all_unused: bool, force: bool, system: bool = False) -> int:
    from dockyard import api
    from dockyard.store.docker import human_size

    what = (
        "all images without at least one container associated to them"
        if all_unused
        else "all dangling images"
    )
    if system:
        what = f"{what}, and every unreferenced blob and unpacked layer"
    if not _confirm(f"This will remove {what}.", force):
        return 0

    def waiting() -> None:
        print("waiting for running dockyard commands to release the store…", file=sys.stderr)

    removed, report = api.prune(all_unused, on_wait=waiting)
    if removed:
        print("Deleted Images:")
        for image_id in removed:
            print(f"deleted: {image_id}")
        print()
    print(f"Total reclaimed space: {human_size(report.reclaimed_bytes)}")
    return 0


def _df() -> int:
    from dockyard import api
    from dockyard.cli.images import print_table
    from dockyard.store.docker import human_size

    usage = api.disk_usage()
    print_table(
        ["TYPE", "TOTAL", "SIZE", "RECLAIMABLE"],
        [
            ["Images", str(usage.images), human_size(usage.images_size), ""],
            [
                "Blobs",
                str(usage.blobs),
                human_size(usage.blobs_size),
                human_size(usage.reclaimable_blobs_size),
            ],
            ["Unpacked layers", str(usage.unpacked_layers), human_size(usage.unpacked_size), ""],
            ["Leases", str(usage.leases), "", ""],
        ],
    )
    return 0


def _check(quiet: bool) -> int:
    from dockyard import api

    report = api.check()
    for problem in report.problems:
        print(f"problem: {problem}")
    for warning in report.warnings:
        print(f"warning: {warning}")
    if not quiet:
        print(
            f"checked {report.blobs_checked} blobs, {report.images_checked} images, "
            f"{report.layers_checked} unpacked layers"
        )
        if report.leftovers:
            print(
                f"{len(report.leftovers)} leftovers of interrupted commands "
                "('dockyard system prune' removes them)"
            )
        print("store is clean" if report.clean else f"{len(report.problems)} problems found")
    return 0 if report.clean else 1
