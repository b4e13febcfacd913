"""USER and --chown names, resolved through the image's /etc/passwd and /etc/group.

Never the host's ``pwd``/``grp``: the names mean what the image says they mean.
The rules are runc/libcontainer's ``GetExecUser`` as BuildKit uses them: a numeric
``uid:gid`` needs no files; a name must exist in the image; a numeric uid missing
from passwd is allowed (primary group 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import BuildError


@dataclass(frozen=True)
class ExecUser:
    uid: int
    gid: int
    additional_gids: tuple[int, ...] = ()
    home: str = "/"


def _read_lines(root: Path, path: str) -> list[list[str]]:
    from dockyard.fs.safepath import resolve_in_root

    try:
        text = resolve_in_root(root, path).read_text(errors="replace")
    except OSError:
        return []
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rows.append(line.split(":"))
    return rows


def _is_uint(text: str) -> bool:
    return text.isdigit() and int(text) < 2**32


def resolve_user(root: Path, spec: str) -> ExecUser:
    """``USER`` value -> uid, gid and supplementary groups, read from ``root``."""
    if not spec:
        return ExecUser(0, 0)
    user_part, has_group, group_part = spec.partition(":")
    if has_group and _is_uint(user_part) and _is_uint(group_part):
        return ExecUser(int(user_part), int(group_part))
    passwd = [row for row in _read_lines(root, "/etc/passwd") if len(row) >= 4]
    entry = next((row for row in passwd if row[0] == user_part), None)
    if entry is None and _is_uint(user_part):
        entry = next((row for row in passwd if row[2] == user_part), None)
    if entry is not None:
        uid, gid, home = int(entry[2]), int(entry[3]), entry[5] if len(entry) > 5 else "/"
        name = entry[0]
    elif _is_uint(user_part):
        uid, gid, home, name = int(user_part), 0, "/", ""
    else:
        raise BuildError(
            f"unable to find user {user_part}: no matching entries in passwd file",
            "create the user in an earlier step (RUN adduser ...) or use a numeric uid",
        )
    groups = [row for row in _read_lines(root, "/etc/group") if len(row) >= 3]
    if has_group:
        found = next((row for row in groups if row[0] == group_part), None)
        if found is None and _is_uint(group_part):
            found = next((row for row in groups if row[2] == group_part), None)
        if found is not None:
            gid = int(found[2])
        elif _is_uint(group_part):
            gid = int(group_part)
        else:
            raise BuildError(
                f"unable to find group {group_part}: no matching entries in group file",
                "create the group in an earlier step or use a numeric gid",
            )
        return ExecUser(uid, gid, (), home)
    extra = []
    if name:
        for row in groups:
            members = row[3].split(",") if len(row) > 3 else []
            if name in members and _is_uint(row[2]) and int(row[2]) != gid:
                extra.append(int(row[2]))
    return ExecUser(uid, gid, tuple(extra), home)
