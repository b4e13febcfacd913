"""``images``, ``image ls|rm|prune|inspect|history|tag``, ``tag``, ``rmi``, ``history``."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.store import StoredImage

_TEMPLATE_FIELD = re.compile(r"\{\{\s*(json\s+)?\.(\w*)\s*\}\}")


def render_template(template: str, row: dict[str, Any]) -> str:
    """The subset of Go templates ``--format`` needs: ``{{.Field}}``, ``{{json .}}``."""

    def field(match: re.Match[str]) -> str:
        name = match.group(2)
        value: Any = row if not name else row.get(name, "")
        if match.group(1) or not isinstance(value, str):
            return json.dumps(value)
        return value

    return _TEMPLATE_FIELD.sub(field, template.replace("\\t", "\t").replace("\\n", "\n"))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Docker's tabwriter layout: columns padded to the widest cell plus three spaces."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    for line in (headers, *rows):
        cells = [str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)]
        print("   ".join(cells).rstrip())


def configure(parser: argparse.ArgumentParser, command: str) -> None:
    if command == "image":
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="COMMAND")
        _configure_ls(sub.add_parser("ls", aliases=["list"], help="List images"))
        _configure_rm(sub.add_parser("rm", aliases=["remove"], help="Remove images"))
        _configure_prune(sub.add_parser("prune", help="Remove unused images"))
        inspect = sub.add_parser("inspect", help="Show details of images")
        inspect.add_argument("-f", "--format", default=None)
        inspect.add_argument("names", nargs="+", metavar="IMAGE")
        _configure_history(sub.add_parser("history", help="Show the history of an image"))
        _configure_tag(sub.add_parser("tag", help="Create a tag TARGET for SOURCE"))
    elif command == "images":
        _configure_ls(parser)
    elif command == "rmi":
        _configure_rm(parser)
    elif command == "tag":
        _configure_tag(parser)
    elif command == "history":
        _configure_history(parser)


def _configure_ls(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("repository", nargs="?", metavar="REPOSITORY[:TAG]")
    parser.add_argument("-a", "--all", action="store_true", help="Show all images")
    parser.add_argument("-q", "--quiet", action="store_true", help="Only show image IDs")
    parser.add_argument("--digests", action="store_true", help="Show digests")
    parser.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    parser.add_argument("--format", help="'json' or a Go template like '{{.Repository}}'")
    parser.add_argument(
        "-f",
        "--filter",
        action="append",
        default=[],
        help="dangling=true|false or reference=PATTERN",
    )


def _configure_rm(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--force", action="store_true", help="Force removal")
    parser.add_argument("names", nargs="+", metavar="IMAGE")


def _configure_prune(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-a", "--all", action="store_true", help="Remove all unused images, not just dangling ones"
    )
    parser.add_argument("-f", "--force", action="store_true", help="Do not prompt")


def _configure_tag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE_IMAGE[:TAG]")
    parser.add_argument("target", metavar="TARGET_IMAGE[:TAG]")


def _configure_history(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", metavar="IMAGE")
    parser.add_argument("-H", "--human", default=True, action=argparse.BooleanOptionalAction)
    parser.add_argument("-q", "--quiet", action="store_true", help="Only show image IDs")
    parser.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    parser.add_argument("--format", help="'json' or a Go template")


def run(args: argparse.Namespace) -> int:
    command = args.command
    if command == "image":
        command = {"ls": "images", "list": "images", "rm": "rmi", "remove": "rmi",
                   "prune": "prune", "inspect": "inspect", "history": "history",
                   "tag": "tag"}[args.subcommand]  # fmt: skip
    if command == "images":
        return _images(args)
    if command == "rmi":
        return _rmi(args.names, args.force)
    if command == "tag":
        from dockyard import api

        api.tag(args.source, args.target)
        return 0
    if command == "history":
        return _history(args)
    if command == "prune":
        from dockyard.cli.system import prune_images

        return prune_images(args.all, args.force)
    from dockyard.cli.inspect import inspect_names

    return inspect_names(args.names, args.format, "image")


def _rmi(names: Sequence[str], force: bool) -> int:
    """Like ``docker rmi``: every name is tried; failures are reported, exit 1 at the end."""
    from dockyard import api
    from dockyard.errors import DockyardError

    status = 0
    for name in names:
        try:
            lines = api.remove_images([name], force=force)
        except DockyardError as error:
            print(f"error: {error.message}", file=sys.stderr)
            status = 1
            continue
        for line in lines:
            print(line)
    return status


def _filters(texts: Sequence[str]) -> dict[str, str]:
    from dockyard.errors import UsageError

    filters = {}
    for text in texts:
        key, equals, value = text.partition("=")
        if not equals or key not in ("dangling", "reference"):
            raise UsageError(
                f"invalid filter {text!r}", "supported: dangling=true|false, reference=PATTERN"
            )
        filters[key] = value
    return filters


def _matches(row: dict[str, Any], filters: dict[str, str]) -> bool:
    import fnmatch

    dangling = row["Repository"] == "<none>" and row["Tag"] == "<none>"
    if "dangling" in filters and dangling != (filters["dangling"].lower() in ("true", "1")):
        return False
    if "reference" in filters:
        pattern = filters["reference"]
        name = f"{row['Repository']}:{row['Tag']}"
        return fnmatch.fnmatchcase(row["Repository"], pattern) or fnmatch.fnmatchcase(name, pattern)
    return True


def _rows(images: Sequence[StoredImage], args: argparse.Namespace) -> list[dict[str, Any]]:
    from dockyard.oci import ImageReference
    from dockyard.store.docker import go_time, human_size, since

    wanted = None
    if args.repository:
        wanted = ImageReference.parse(args.repository)
    rows: list[dict[str, Any]] = []
    for image in sorted(images, key=lambda i: i.created, reverse=True):
        image_id = str(image.id) if args.no_trunc else image.id.short
        base = {"Containers": "N/A", "CreatedAt": go_time(image.created),
                "CreatedSince": since(image.created), "ID": image_id, "SharedSize": "N/A",
                "Size": human_size(image.size), "UniqueSize": "N/A",
                "VirtualSize": human_size(image.size)}  # fmt: skip
        repos: dict[str, dict[str, str]] = {}
        for name in image.names:
            tags = repos.setdefault(name.familiar_name, {})
            if name.tag is not None:
                tags.setdefault(name.tag, "<none>")
        digests = {n.familiar_name: str(n.digest) for n in image.names if n.digest is not None}
        for repo, tags in repos.items():
            if wanted is not None and (
                repo != wanted.familiar_name or wanted.tag not in (None, *tags)
            ):
                continue
            for tag in sorted(tags) or ["<none>"]:
                if wanted is not None and wanted.tag is not None and tag != wanted.tag:
                    continue
                rows.append(
                    {**base, "Repository": repo, "Tag": tag, "Digest": digests.get(repo, "<none>")}
                )
        if not repos and wanted is None:
            rows.append({**base, "Repository": "<none>", "Tag": "<none>", "Digest": "<none>"})
    return rows


def _images(args: argparse.Namespace) -> int:
    from dockyard import api

    filters = _filters(args.filter)
    rows = [row for row in _rows(api.images(), args) if _matches(row, filters)]
    if args.quiet:
        for row in rows:
            print(row["ID"])
        return 0
    if args.format:
        template = "{{json .}}" if args.format == "json" else args.format
        for row in rows:
            print(render_template(template, row))
        return 0
    headers = [
        "REPOSITORY",
        "TAG",
        *(["DIGEST"] if args.digests else []),
        "IMAGE ID",
        "CREATED",
        "SIZE",
    ]
    table = [
        [
            row["Repository"],
            row["Tag"],
            *([row["Digest"]] if args.digests else []),
            row["ID"],
            row["CreatedSince"],
            row["Size"],
        ]
        for row in rows
    ]
    print_table(headers, table)
    return 0


def _history(args: argparse.Namespace) -> int:
    from dockyard import api
    from dockyard.store.docker import history_rows, human_size, since

    rows = history_rows(api.image(args.image))
    for row in rows:
        row["CreatedSince"] = since(row["Created"]) if args.human else row["Created"]
        if row["Id"] != "<missing>" and not args.no_trunc:
            row["Id"] = row["Id"].removeprefix("sha256:")[:12]
        row["SizeText"] = human_size(row["Size"]) if args.human else str(row["Size"])
    if args.quiet:
        print("\n".join(row["Id"] for row in rows))
        return 0
    if args.format:
        template = "{{json .}}" if args.format == "json" else args.format
        for row in rows:
            print(render_template(template, row))
        return 0
    table = []
    for row in rows:
        created_by = row["CreatedBy"]
        if not args.no_trunc and len(created_by) > 45:
            created_by = created_by[:44] + "…"
        table.append([row["Id"], row["CreatedSince"], created_by, row["SizeText"], row["Comment"]])
    print_table(["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"], table)
    sys.stdout.flush()
    return 0
