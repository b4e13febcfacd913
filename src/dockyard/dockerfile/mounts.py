"""``RUN --mount=...`` specifications, parsed and validated like BuildKit's runmount."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass

from dockyard.errors import DockerfileError
from dockyard.location import SourceLocation

MOUNT_TYPES = ("bind", "cache", "tmpfs", "secret", "ssh")
SHARING_MODES = ("shared", "private", "locked")
_KEYS = (
    "type", "from", "source", "src", "target", "dst", "destination", "readonly", "ro",
    "readwrite", "rw", "required", "id", "sharing", "mode", "uid", "gid", "size", "env",
)  # fmt: skip
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\Z", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


@dataclass(frozen=True)
class Mount:
    """One ``--mount``. Defaults are filled in as BuildKit does when it runs the step."""

    type: str = "bind"
    target: str | None = None
    source: str | None = None
    from_: str | None = None  # stage name/index or image for bind/cache
    read_only: bool = True
    id: str | None = None  # cache id, secret id, ssh id
    sharing: str | None = None  # cache only: shared (default) | private | locked
    required: bool = False  # secret/ssh: fail when not provided
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    size: int | None = None  # tmpfs, bytes
    env: str | None = None  # secret exposed as an environment variable


def _parse_bool(key: str, value: str, fail: Callable[[str, str | None], DockerfileError]) -> bool:
    lower = value.lower()
    if lower in ("1", "t", "true"):
        return True
    if lower in ("0", "f", "false"):
        return False
    raise fail(f"invalid value for {key}: {value}", "use true or false")


def _parse_int(
    key: str, value: str, base: int, fail: Callable[[str, str | None], DockerfileError]
) -> int:
    digits = "01234567" if base == 8 else "0123456789"
    valid = bool(value) and all(char in digits for char in value)  # Go's ParseUint
    number = int(value, base) if valid else -1
    if number < 0 or number > 0xFFFFFFFF:
        kind = "an octal number like 0644" if base == 8 else "a number"
        raise fail(f"invalid value {value} for {key}", f"{key} must be {kind}")
    return number


def parse_size(value: str) -> int:
    """docker's units.RAMInBytes: "64m", "1g", "512k", "1024" (bytes)."""
    match = _SIZE.match(value.strip())
    if match is None:
        raise ValueError(f"invalid size: {value!r}")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


def _split_csv(value: str) -> list[str]:
    import csv

    rows = list(csv.reader([value], strict=True))
    return rows[0] if rows else []


def parse_mount(
    value: str, location: SourceLocation, expand: Callable[[str], str] | None = None
) -> Mount:
    """Parse the value of one ``--mount`` flag; ``expand`` expands each field's value."""

    def fail(what: str, hint: str | None = None) -> DockerfileError:
        return DockerfileError(f"--mount={value}: {what}", location, hint)

    try:
        fields = _split_csv(value)
    except Exception as error:
        raise fail(f"failed to parse csv mounts: {error}") from None
    found: dict[str, object] = {"type": "bind"}
    read_only: bool | None = None
    for field in fields:
        key, has_value, raw = field.partition("=")
        key = key.lower()
        if has_value and expand is not None:
            raw = expand(raw)
        if not has_value:
            if key in ("readonly", "ro"):
                read_only = True
                continue
            if key in ("readwrite", "rw"):
                read_only = False
                continue
            if key == "required":
                if found["type"] not in ("secret", "ssh"):
                    raise fail(f"unexpected key 'required' for mount type '{found['type']}'")
                found["required"] = True
                continue
            raise fail(f"invalid field '{field}' must be a key=value pair")
        if key == "type":
            mount_type = raw.lower()
            if mount_type not in MOUNT_TYPES:
                raise fail(
                    f"unsupported mount type {raw!r}", "use one of: " + ", ".join(MOUNT_TYPES)
                )
            found["type"] = mount_type
        elif key == "from":
            found["from_"] = raw
        elif key in ("source", "src"):
            found["source"] = raw
        elif key in ("target", "dst", "destination"):
            found["target"] = raw
        elif key in ("readonly", "ro"):
            read_only = _parse_bool(key, raw, fail)
        elif key in ("readwrite", "rw"):
            read_only = not _parse_bool(key, raw, fail)
        elif key == "required":
            if found["type"] not in ("secret", "ssh"):
                raise fail(f"unexpected key 'required' for mount type '{found['type']}'")
            found["required"] = _parse_bool(key, raw, fail)
        elif key == "id":
            found["id"] = raw
        elif key == "sharing":
            if raw.lower() not in SHARING_MODES:
                raise fail(f"unsupported sharing value {raw!r}", "use shared, private or locked")
            found["sharing"] = raw.lower()
        elif key == "mode":
            found["mode"] = _parse_int(key, raw, 8, fail)
        elif key in ("uid", "gid"):
            found[key] = _parse_int(key, raw, 10, fail)
        elif key == "size":
            if found["type"] != "tmpfs":
                raise fail(f"size not allowed for {found['type']!r} type mounts")
            try:
                found["size"] = parse_size(raw)
            except ValueError:
                raise fail(f"invalid value {raw} for size", "write a size like 64m") from None
        elif key == "env":
            if found["type"] != "secret":
                raise fail(f"env not allowed for {found['type']!r} type mounts")
            found["env"] = raw
        else:
            import difflib

            close = difflib.get_close_matches(key, _KEYS, n=1)
            hint = f"did you mean {close[0]}?" if close else "valid keys: " + ", ".join(_KEYS)
            raise fail(f"unexpected key '{key}' in '{field}'", hint)
    return _validated(found, read_only, fail)


def _validated(
    found: dict[str, object], read_only: bool | None, fail: Callable[..., DockerfileError]
) -> Mount:
    mount_type = str(found["type"])
    file_info_allowed = mount_type in ("secret", "ssh", "cache")
    for key in ("mode", "uid", "gid"):
        if found.get(key) is not None and not file_info_allowed:
            raise fail(f"{key} not allowed for {mount_type!r} type mounts")
    if read_only is None:
        read_only = mount_type not in ("cache", "tmpfs")
    if found.get("sharing") is not None and mount_type != "cache":
        raise fail(f"invalid cache sharing set for {mount_type} mount")
    target = found.get("target")
    source = found.get("source")
    mount_id = found.get("id")
    if mount_type == "secret":
        if found.get("from_") is not None:
            raise fail("secret mount should not have a from")
        if not source and not target and not mount_id and not found.get("env"):
            raise fail("invalid secret mount. one of source, target required", "add id=<secret id>")
        if source and mount_id:
            raise fail("both source and id can't be set")
        mount_id = mount_id or source or posixpath.basename(str(target))
        if not target and not found.get("env"):
            target = f"/run/secrets/{mount_id}"
    elif mount_type == "ssh":
        mount_id = mount_id or "default"
    elif not target:
        raise fail(f"mount type {mount_type} needs a target", "add target=/path/in/container")
    elif mount_type == "cache":
        mount_id = mount_id or str(target)
    return Mount(
        type=mount_type,
        target=str(target) if target else None,
        source=str(source) if source else None,
        from_=str(found["from_"]) if found.get("from_") else None,
        read_only=read_only,
        id=str(mount_id) if mount_id else None,
        sharing=(
            str(found["sharing"])
            if found.get("sharing")
            else ("shared" if mount_type == "cache" else None)
        ),
        required=bool(found.get("required", False)),
        mode=found.get("mode"),  # type: ignore[arg-type]
        uid=found.get("uid"),  # type: ignore[arg-type]
        gid=found.get("gid"),  # type: ignore[arg-type]
        size=found.get("size"),  # type: ignore[arg-type]
        env=str(found["env"]) if found.get("env") else None,
    )
