"""Canonical JSON: the compact form Go's encoding/json writes (Docker, BuildKit).

Go writes struct fields in declaration order and map keys sorted; the dataclasses
build plain dicts in declaration order and maps come out sorted here. ``<``, ``>``,
``&``, U+2028 and U+2029 are escaped as Go does (and backspace and form feed as
Go 1.19 does), so a document round-trips to the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from dockyard.errors import StoreError

JSONObject = dict[str, Any]


def dumps(value: Any) -> bytes:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    text = (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
    if "\\b" in text or "\\f" in text:
        # Python writes backspace and form feed as \b and \f; Go before 1.22 (which built
        # the Docker and BuildKit this project matches) as \u0008 and \u000c. Escapes are
        # matched pairwise from the left, so an escaped backslash then "b" stays as it is.
        text = re.sub(r"\\(.)", _go_escape, text)
    return text.encode("utf-8")


def _go_escape(match: re.Match[str]) -> str:
    char = match.group(1)
    return "\\u0008" if char == "b" else "\\u000c" if char == "f" else match.group(0)


def loads(data: bytes | str, what: str) -> JSONObject:
    """Parse a JSON object; anything else is a StoreError naming ``what``."""
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise StoreError(f"{what} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise StoreError(f"{what} is not a JSON object")
    return value


def sorted_map(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {key: mapping[key] for key in sorted(mapping)}


def get_str(obj: Mapping[str, Any], key: str, what: str, default: str = "") -> str:
    value = obj.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise StoreError(f"{what}: field {key!r} must be a string")
    return value


def get_int(obj: Mapping[str, Any], key: str, what: str, default: int = 0) -> int:
    value = obj.get(key, default)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise StoreError(f"{what}: field {key!r} must be an integer")
    return value


def get_str_list(obj: Mapping[str, Any], key: str, what: str) -> tuple[str, ...] | None:
    """A list of strings, ``None`` when absent or null (Docker tells the two apart)."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise StoreError(f"{what}: field {key!r} must be a list of strings")
    return tuple(value)


def get_str_map(obj: Mapping[str, Any], key: str, what: str) -> dict[str, str]:
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise StoreError(f"{what}: field {key!r} must be an object of strings")
    return dict(value)


def get_set(obj: Mapping[str, Any], key: str, what: str) -> tuple[str, ...]:
    """Go's ``map[string]struct{}`` (ExposedPorts, Volumes) as sorted keys."""
    value = obj.get(key)
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise StoreError(f"{what}: field {key!r} must be an object")
    return tuple(sorted(value))


def get_obj(obj: Mapping[str, Any], key: str, what: str) -> JSONObject | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise StoreError(f"{what}: field {key!r} must be an object")
    return value
