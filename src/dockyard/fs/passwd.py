"""Users and groups of an *image*: its /etc/passwd and /etc/group, read inside its root.

Never the host's ``pwd``/``grp``: the names mean what the image says they mean. The
files are read with symlinks resolved inside the root. ``resolve_exec_user`` follows
runc/libcontainer's ``GetExecUser``, which both ``docker run -u`` and BuildKit's RUN
use: a user matches by name or uid (first entry wins); a numeric uid needs no entry; an
empty user means root; without an explicit group the supplementary groups are the
groups that list the user as a member.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import UnknownUserError
from dockyard.fs.safepath import resolve_in_root

_HINT = "use a numeric id, or a name the image has (create it in an earlier step: RUN adduser …)"


@dataclass(frozen=True)
class ExecUser:
    """The identity a process runs with."""

    uid: int
    gid: int
    additional_gids: tuple[int, ...] = ()
    home: str = "/"


def read_entries(root: Path, name: str) -> list[list[str]]:
    """The colon-separated rows of ``/etc/<name>`` in ``root``; none if it cannot be read."""
    try:
        text = resolve_in_root(root, f"etc/{name}").read_text(errors="replace")
    except OSError:
        return []
    rows = (line.strip() for line in text.splitlines())
    return [row.split(":") for row in rows if row and not row.startswith("#")]


def parse_id(text: str) -> int | None:
    """A uid/gid written as a number (below 2**32 - 1), else None."""
    if text.isdigit():
        value = int(text)
        if value < 2**32 - 1:
            return value
    return None


def resolve_exec_user(root: Path, spec: str) -> ExecUser:
    """``user``, ``uid``, ``user:group``, ``uid:gid`` (empty user = root) inside ``root``."""
    user_part, has_group, group_part = spec.partition(":")
    wanted = user_part or "0"
    passwd = [row for row in read_entries(root, "passwd") if len(row) >= 4]
    entry = next((row for row in passwd if wanted in (row[0], row[2])), None)
    if entry is not None and parse_id(entry[2]) is not None and parse_id(entry[3]) is not None:
        name, uid, gid = entry[0], int(entry[2]), int(entry[3])
        home = (entry[5] if len(entry) > 5 else "") or "/"
    elif (numeric := parse_id(wanted)) is not None:
        name, uid, gid, home = "", numeric, 0, "/"
    else:
        raise UnknownUserError(
            f"unable to find user {user_part}: no matching entries in passwd file", _HINT
        )
    groups = [row for row in read_entries(root, "group") if len(row) >= 3]
    if has_group and group_part:
        found = next((row for row in groups if group_part in (row[0], row[2])), None)
        if found is not None and parse_id(found[2]) is not None:
            gid = int(found[2])
        elif (numeric_gid := parse_id(group_part)) is not None:
            gid = numeric_gid
        else:
            raise UnknownUserError(
                f"unable to find group {group_part}: no matching entries in group file", _HINT
            )
        return ExecUser(uid, gid, (), home)
    extra: list[int] = []
    if name:
        for row in groups:
            members = row[3].split(",") if len(row) > 3 else []
            member_gid = parse_id(row[2])
            if name in members and member_gid is not None and member_gid not in (gid, *extra):
                extra.append(member_gid)
    return ExecUser(uid, gid, tuple(extra), home)
