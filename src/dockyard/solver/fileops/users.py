"""``--chown`` for COPY/ADD: ``user[:group]`` resolved through the TARGET image.

Names are looked up in the image's own ``/etc/passwd`` and ``/etc/group`` (read from
its root filesystem with symlinks resolved inside it), never the host's. As in
BuildKit: a numeric user without a group gives ``uid:uid``; a named user without a
group gives the user's primary group; a name that is not found resolves to 0, and a
missing passwd/group file counts as "not found".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import BuildError
from dockyard.fs.passwd import parse_id, read_entries


@dataclass(frozen=True)
class Owner:
    """A numeric owner for copied files."""

    uid: int
    gid: int


def _read_db(root: Path | None, name: str) -> list[list[str]]:
    return read_entries(root, name) if root is not None else []


def lookup_user(root: Path | None, name: str) -> Owner | None:
    """(uid, primary gid) of ``name`` in ``root``'s /etc/passwd, or None."""
    for row in _read_db(root, "passwd"):
        if len(row) >= 4 and row[0] == name:
            uid, gid = parse_id(row[2]), parse_id(row[3])
            if uid is not None and gid is not None:
                return Owner(uid, gid)
    return None


def lookup_group(root: Path | None, name: str) -> int | None:
    """The gid of group ``name`` in ``root``'s /etc/group, or None."""
    for row in _read_db(root, "group"):
        if len(row) >= 3 and row[0] == name:
            return parse_id(row[2])
    return None


def resolve_chown(spec: str, root: Path | None) -> Owner:
    """``--chown=user[:group]`` -> numeric owner, names looked up in ``root`` (the image).

    ``root`` is the target image's root filesystem (None: no image, e.g. scratch).
    """
    if not spec:
        raise BuildError("invalid --chown: empty value", "use --chown=USER[:GROUP]")
    user_text, has_group, group_text = spec.partition(":")
    # As BuildKit (Docker 20.10's, checked by the differential suite): no user part
    # (`--chown=:staff`) leaves uid and gid at 0 before the group applies, and an empty
    # group part (`--chown=app:`) gives gid 0.
    uid = parse_id(user_text) if user_text else 0
    owner = Owner(uid, uid) if uid is not None else lookup_user(root, user_text) or Owner(0, 0)
    if has_group and not group_text:
        owner = Owner(owner.uid, 0)
    elif group_text:
        gid = parse_id(group_text)
        if gid is None:
            gid = lookup_group(root, group_text) or 0
        owner = Owner(owner.uid, gid)
    return owner
