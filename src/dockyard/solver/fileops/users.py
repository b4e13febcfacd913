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
from dockyard.fs.safepath import resolve_in_root


@dataclass(frozen=True)
class Owner:
    """A numeric owner for copied files."""

    uid: int
    gid: int


def _parse_id(text: str) -> int | None:
    if text.isdigit():
        value = int(text)
        if value < 2**32 - 1:
            return value
    return None


def _read_db(root: Path | None, path: str) -> list[list[str]]:
    if root is None:
        return []
    try:
        data = resolve_in_root(root, path).read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return []
    except OSError as error:
        raise BuildError(f"cannot read {path} of the image: {error.strerror}") from error
    rows = []
    for line in data.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rows.append(line.split(":"))
    return rows


def lookup_user(root: Path | None, name: str) -> Owner | None:
    """(uid, primary gid) of ``name`` in ``root``'s /etc/passwd, or None."""
    for row in _read_db(root, "/etc/passwd"):
        if len(row) >= 4 and row[0] == name:
            uid, gid = _parse_id(row[2]), _parse_id(row[3])
            if uid is not None and gid is not None:
                return Owner(uid, gid)
    return None


def lookup_group(root: Path | None, name: str) -> int | None:
    """The gid of group ``name`` in ``root``'s /etc/group, or None."""
    for row in _read_db(root, "/etc/group"):
        if len(row) >= 3 and row[0] == name:
            return _parse_id(row[2])
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
    uid = _parse_id(user_text) if user_text else 0
    owner = Owner(uid, uid) if uid is not None else lookup_user(root, user_text) or Owner(0, 0)
    if has_group and not group_text:
        owner = Owner(owner.uid, 0)
    elif group_text:
        gid = _parse_id(group_text)
        if gid is None:
            gid = lookup_group(root, group_text) or 0
        owner = Owner(owner.uid, gid)
    return owner
