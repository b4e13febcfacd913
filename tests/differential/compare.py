"""Readable differences between two flattened image descriptions, and case checks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

MAX_LINES = 80


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def diff_files(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    lines = []
    for path in sorted(set(expected) | set(actual)):
        if path not in actual:
            lines.append(f"  only in docker:   /{path} {_show(expected[path])}")
        elif path not in expected:
            lines.append(f"  only in dockyard: /{path} {_show(actual[path])}")
        elif expected[path] != actual[path]:
            keys = sorted(set(expected[path]) | set(actual[path]))
            changes = [
                f"{key}: {_show(expected[path].get(key))} != {_show(actual[path].get(key))}"
                for key in keys
                if expected[path].get(key) != actual[path].get(key)
            ]
            lines.append(f"  /{path}: {'; '.join(changes)}  (docker != dockyard)")
    return lines


def diff_layers(expected: list[list[str]], actual: list[list[str]]) -> list[str]:
    lines = []
    if len(expected) != len(actual):
        lines.append(f"  layer count: docker {len(expected)} != dockyard {len(actual)}")
    for index, (docker_layer, dockyard_layer) in enumerate(zip(expected, actual, strict=False)):
        missing = sorted(set(docker_layer) - set(dockyard_layer))
        extra = sorted(set(dockyard_layer) - set(docker_layer))
        if missing:
            lines.append(f"  layer {index + 1}: only in docker: {missing}")
        if extra:
            lines.append(f"  layer {index + 1}: only in dockyard: {extra}")
    return lines


def diff_config(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    return [
        f"  {key}: docker {_show(expected.get(key))} != dockyard {_show(actual.get(key))}"
        for key in sorted(set(expected) | set(actual))
        if expected.get(key) != actual.get(key)
    ]


def diff_history(expected: list[dict[str, Any]], actual: list[dict[str, Any]]) -> list[str]:
    lines = []
    if len(expected) != len(actual):
        lines.append(f"  entries: docker {len(expected)} != dockyard {len(actual)}")
    for index, (left, right) in enumerate(zip(expected, actual, strict=False)):
        if left != right:
            lines.append(f"  [{index}] docker   {_show(left)}")
            lines.append(f"  [{index}] dockyard {_show(right)}")
    return lines


def diff_descriptions(
    expected: dict[str, Any], actual: dict[str, Any], skip: Iterable[str] = ()
) -> list[str]:
    """Lines describing every difference, grouped by part; empty when equal."""
    differs = {
        "files": diff_files,
        "layers": diff_layers,
        "config": diff_config,
        "history": diff_history,
    }
    lines: list[str] = []
    for part, differ in differs.items():
        if part in skip:
            continue
        found = differ(expected[part], actual[part])
        if found:
            lines.append(f"{part}:")
            lines += found
    if len(lines) > MAX_LINES:
        lines = [*lines[:MAX_LINES], f"... and {len(lines) - MAX_LINES} more lines"]
    return lines


def failed_checks(image: dict[str, Any], checks: Iterable[dict[str, Any]]) -> list[str]:
    """Checks from case.toml (``[[check]]``) that do not hold for ``image``.

    A check names a ``path`` and any of: ``absent = true``, ``type``, ``mode`` (octal
    string), ``uid``, ``gid``, ``content`` (exact text), ``target``, ``hardlink_to``.
    """
    files = image["files"]
    problems = []
    for check in checks:
        path = check["path"].lstrip("/")
        entry = files.get(path)
        if check.get("absent"):
            if entry is not None:
                problems.append(f"/{path} should be absent, found {_show(entry)}")
            continue
        if entry is None:
            problems.append(f"/{path} is missing")
            continue
        for key in ("type", "mode", "uid", "gid", "target"):
            if key in check and entry.get(key) != check[key]:
                problems.append(f"/{path}: {key} {_show(entry.get(key))}, expected {check[key]!r}")
        if "content" in check:
            wanted = hashlib.sha256(check["content"].encode()).hexdigest()
            if entry.get("sha256") != wanted:
                problems.append(f"/{path}: content differs from {check['content']!r}")
        if "hardlink_to" in check:
            other = files.get(check["hardlink_to"].lstrip("/"), {})
            group = entry.get("hardlink_group")
            if group is None or group != other.get("hardlink_group"):
                problems.append(f"/{path}: not a hard link of {check['hardlink_to']}")
    return problems


def failed_config_checks(image: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """``[config]`` of case.toml: each key must equal the described config's value."""
    config = image["config"]
    return [
        f"config {key}: {_show(config.get(key))}, expected {_show(value)}"
        for key, value in expected.items()
        if config.get(key) != value
    ]
