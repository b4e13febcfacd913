"""``--chmod`` values: octal (``755``) or symbolic like chmod(1) (``u+x,g-w``, ``a=rX``).

BuildKit (0.12+) accepts both. An octal value replaces the permission bits and keeps
setuid/setgid/sticky from the source (fsutil's copier); a symbolic value is applied to
each copied entry's mode in turn (``X`` adds execute only to directories and to files
that already have an execute bit). Nothing here consults the umask.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass

from dockyard.errors import BuildError

_OCTAL_RE = re.compile(r"^[0-7]+$")
_CLAUSE_RE = re.compile(r"^([ugoa]*)((?:[-+=](?:[ugo]|[rwxXst]*))+)$")
_ACTION_RE = re.compile(r"([-+=])([ugo]|[rwxXst]*)")

_WHO_BITS = {"u": 0o4700, "g": 0o2070, "o": 0o1007}
_PERM_BITS = {"r": 0o444, "w": 0o222, "x": 0o111}


@dataclass(frozen=True)
class _Action:
    who: str  # subset of "ugo"
    op: str  # "+", "-" or "="
    perms: str  # letters from "rwxXst", or one of "ugo" (copy from that class)


@dataclass(frozen=True)
class ModeChange:
    """A parsed ``--chmod``: apply it with :meth:`apply` to an entry's ``st_mode``."""

    text: str
    octal: int | None
    actions: tuple[_Action, ...]

    def apply(self, mode: int) -> int:
        """The new permission/special bits (``& 0o7777``) for an entry of ``mode``."""
        if self.octal is not None:
            return (mode & 0o7000) | (self.octal & 0o777)
        bits = mode & 0o7777
        is_dir = stat.S_ISDIR(mode)
        for action in self.actions:
            bits = _apply_action(action, bits, is_dir)
        return bits


def parse_chmod(text: str) -> ModeChange:
    """Parse an octal or symbolic mode; raises BuildError for anything else."""
    if _OCTAL_RE.match(text):
        value = int(text, 8)
        if value > 0o7777:
            raise _invalid(text)
        return ModeChange(text, value, ())
    if not text or text.isdigit():
        raise _invalid(text)
    actions: list[_Action] = []
    for clause in text.split(","):
        found = _CLAUSE_RE.match(clause)
        if found is None:
            raise _invalid(text)
        who = found.group(1).replace("a", "ugo") or "ugo"
        for op, perms in _ACTION_RE.findall(found.group(2)):
            actions.append(_Action("".join(sorted(set(who))), op, perms))
    return ModeChange(text, None, tuple(actions))


def _invalid(text: str) -> BuildError:
    return BuildError(
        f"invalid chmod parameter: {text!r}",
        "use an octal mode between 0 and 07777 (--chmod=755) or a symbolic one (--chmod=u+x,go-w)",
    )


def _who_mask(who: str) -> int:
    mask = 0
    for letter in who:
        mask |= _WHO_BITS[letter] & 0o777
    return mask


def _perm_bits(action: _Action, bits: int, is_dir: bool) -> int:
    if action.perms in ("u", "g", "o"):
        # Copy the permission triplet of another class onto every class named.
        shift = {"u": 6, "g": 3, "o": 0}[action.perms]
        triplet = (bits >> shift) & 0o7
        return triplet * 0o111
    value = 0
    for letter in action.perms:
        if letter in _PERM_BITS:
            value |= _PERM_BITS[letter]
        elif letter == "X":
            if is_dir or bits & 0o111:
                value |= 0o111
        elif letter == "s":
            value |= (0o4000 if "u" in action.who else 0) | (0o2000 if "g" in action.who else 0)
        elif letter == "t":
            value |= 0o1000 if "o" in action.who else 0
    return value


def _apply_action(action: _Action, bits: int, is_dir: bool) -> int:
    mask = _who_mask(action.who) | 0o7000
    change = _perm_bits(action, bits, is_dir) & mask
    if action.op == "+":
        return bits | change
    if action.op == "-":
        return bits & ~change
    # "=": clear the named classes' permission bits (and their special bits), then set.
    cleared = bits & ~_who_mask(action.who)
    for letter in action.who:
        cleared &= ~(_WHO_BITS[letter] & 0o7000)
    return cleared | change
