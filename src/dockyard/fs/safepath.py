"""Join a path inside a root, resolving symlinks as if the root were ``/``.

This is containerd's ``fs.RootPath`` / moby's ``FollowSymlinkInScope``: every
component is looked up with ``lstat``; a symlink's target is spliced back into the
walk, an absolute target restarting at the root and ``..`` stopping at the root.
Whatever the links say, the result is a path under the root (it need not exist).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from dockyard.errors import UnpackError

MAX_SYMLINKS = 255


def split_components(path: str) -> list[str]:
    """The non-empty, non-``.`` components of a ``/``-separated path."""
    return [part for part in path.split("/") if part and part != "."]


def resolve_in_root(
    root: Path | str,
    path: str,
    *,
    follow_final: bool = True,
    lstat: Callable[[str], os.stat_result] = os.lstat,
    readlink: Callable[[str], str] = os.readlink,
) -> Path:
    """``root`` joined with ``path`` (absolute or relative), never leaving ``root``.

    With ``follow_final=False`` a symlink in the last component is not followed: the
    result names the link itself (what ``lstat``, ``unlink`` or creating an entry need).
    Components that do not exist are joined lexically. ``lstat`` and ``readlink``
    look entries up (a view that is not only the disk passes its own).
    """
    root_text = os.path.abspath(root)
    return Path(root_text, _resolve(root_text, path, follow_final, lstat, readlink))


def _resolve(
    root: str,
    path: str,
    follow_final: bool,
    lstat: Callable[[str], os.stat_result] = os.lstat,
    readlink: Callable[[str], str] = os.readlink,
) -> str:
    pending = split_components(path)
    pending.reverse()  # a stack: the next component is at the end
    resolved: list[str] = []
    links = 0
    while pending:
        part = pending.pop()
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        if not pending and not follow_final:
            resolved.append(part)
            break
        candidate = os.path.join(root, *resolved, part)
        try:
            mode = lstat(candidate).st_mode
        except (FileNotFoundError, NotADirectoryError):
            resolved.append(part)
            continue
        if not stat.S_ISLNK(mode):
            resolved.append(part)
            continue
        links += 1
        if links > MAX_SYMLINKS:
            raise UnpackError(
                f"too many levels of symbolic links resolving {path!r} in {root}",
                "a layer or image contains a symlink loop",
            )
        target = readlink(candidate)
        if target.startswith("/"):
            resolved.clear()
        target_parts = split_components(target)
        target_parts.reverse()
        pending.extend(target_parts)
    return "/".join(resolved)


def relative_in_root(root: Path | str, path: str, *, follow_final: bool = True) -> str:
    """Like :func:`resolve_in_root` but returns the path relative to the root ("" = root)."""
    return _resolve(os.path.abspath(root), path, follow_final)
