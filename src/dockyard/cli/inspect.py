"""``inspect``: Docker-compatible JSON for images, and for containers when runtime has them."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from typing import Any

_FIELD = re.compile(r"\{\{\s*(json\s+)?((?:\.\w+)+|\.)\s*\}\}")


def _go_value(value: Any) -> str:
    """How Go's text/template prints a value without ``json``."""
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(_go_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_value(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)


def render(template: str, obj: dict[str, Any]) -> str:
    """``{{.Path.To.Field}}`` and ``{{json .Field}}`` over an inspect object."""

    def field(match: re.Match[str]) -> str:
        value: Any = obj
        for part in [p for p in match.group(2).split(".") if p]:
            value = value.get(part) if isinstance(value, dict) else None
        return json.dumps(value) if match.group(1) else _go_value(value)

    return _FIELD.sub(field, template.replace("\\n", "\n").replace("\\t", "\t"))


def configure(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument("-f", "--format", default=None, help="Go template, e.g. '{{.Id}}'")
    parser.add_argument("--type", choices=("image", "container"), default=None)
    parser.add_argument("names", nargs="+", metavar="NAME|ID")


def _inspect_container(name: str) -> dict[str, Any] | None:
    """Containers belong to the runtime; ask it when it provides ``api.inspect_container``."""
    from dockyard import api

    inspect_container = getattr(api, "inspect_container", None)
    if inspect_container is None:
        return None
    from dockyard.errors import ContainerNotFoundError

    try:
        result: dict[str, Any] = inspect_container(name)
    except ContainerNotFoundError:
        return None
    return result


def inspect_names(names: Sequence[str], template: str | None, kind: str | None) -> int:
    from dockyard import api
    from dockyard.errors import ImageNotFoundError

    found: list[dict[str, Any]] = []
    status = 0
    for name in names:
        obj: dict[str, Any] | None = None
        if kind != "container":
            try:
                obj = api.inspect_image(name)
            except ImageNotFoundError:
                obj = None
        if obj is None and kind != "image":
            obj = _inspect_container(name)
        if obj is None:
            what = {"image": "image", "container": "container"}.get(kind or "", "object")
            print(f"error: no such {what}: {name}", file=sys.stderr)
            status = 1
            continue
        found.append(obj)
    if template is not None:
        for obj in found:
            print(render(template, obj))
    else:
        print(json.dumps(found, indent=4))
    return status


def run(args: argparse.Namespace) -> int:
    return inspect_names(args.names, args.format, args.type)
