"""``USER`` / ``-u`` resolution against the *image's* /etc/passwd and /etc/group.

Never the host's ``pwd``/``grp``: the names mean what the image says they mean.
Follows runc's ``GetExecUser``: numeric ids need no entry, names must have one, and
without an explicit group the user's supplementary groups come from /etc/group.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import RuntimeError_


@dataclass(frozen=True)
class ExecUser:
    uid: int
    gid: int
    additional_gids: tuple[int, ...] = ()
    home: str = "/"


def _entries(root: Path, name: str) -> list[list[str]]:
    from dockyard.fs import resolve_in_root

    try:
        text = resolve_in_root(root, f"etc/{name}").read_text(errors="replace")
    except OSError:
        return []
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


def resolve_user(root: Path, spec: str) -> ExecUser:
    """``user``, ``uid``, ``user:group``, ``uid:gid`` (empty = root) inside ``root``."""
    user_part, has_group, group_part = spec.partition(":")
    passwd = _entries(root, "passwd")
    uid, gid, home, name = 0, 0, "/", "root"
    if user_part:
        entry = next(
            (e for e in passwd if len(e) >= 6 and (e[0] == user_part or e[2] == user_part)), None
        )
        if entry is not None and entry[2].isdigit() and entry[3].isdigit():
            name, uid, gid, home = entry[0], int(entry[2]), int(entry[3]), entry[5] or "/"
        elif user_part.isdigit():
            uid, name = int(user_part), ""
        else:
            raise RuntimeError_(
                f"unable to find user {user_part}: no matching entries in passwd file",
                "use a numeric uid or a user that exists in the image",
            )
    else:
        root_entry = next((e for e in passwd if len(e) >= 6 and e[2] == "0"), None)
        if root_entry is not None:
            home = root_entry[5] or "/"
    groups = _entries(root, "group")
    if has_group and group_part:
        entry = next(
            (e for e in groups if len(e) >= 3 and (e[0] == group_part or e[2] == group_part)), None
        )
        if entry is not None and entry[2].isdigit():
            gid = int(entry[2])
        elif group_part.isdigit():
            gid = int(group_part)
        else:
            raise RuntimeError_(
                f"unable to find group {group_part}: no matching entries in group file",
                "use a numeric gid or a group that exists in the image",
            )
        return ExecUser(uid, gid, (), home)
    extra: list[int] = []
    if name:
        for entry in groups:
            members = entry[3].split(",") if len(entry) >= 4 else []
            if name in members and entry[2].isdigit() and int(entry[2]) not in (gid, *extra):
                extra.append(int(entry[2]))
    return ExecUser(uid, gid, tuple(extra), home)
