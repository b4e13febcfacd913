"""``COPY/ADD --chmod``: octal (``0755``) or symbolic (``u+x,go-w``) modes.

``Chmod.parse`` validates the flag; ``Chmod.apply`` computes the mode a file gets,
following chmod(1) for symbolic modes (``X`` sets execute only on directories and
files that already have an execute bit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OCTAL = re.compile(r"[0-7]{1,4}\Z")
_CLAUSE = re.compile(r"([ugoa]*)((?:[-+=](?:[rwxXst]*|[ugo]))+)\Z")
_ACTION = re.compile(r"([-+=])([ugo]|[rwxXst]*)")
_WHO_BITS = {"u": 0o4700, "g": 0o2070, "o": 0o1007}  # 1007: sticky counts as "o"
_PERM_BITS = {"r": 0o444, "w": 0o222, "x": 0o111, "s": 0o6000, "t": 0o1000}


@dataclass(frozen=True)
class Chmod:
    spec: str
    octal: int | None  # set for octal specs

    @classmethod
    def parse(cls, spec: str) -> Chmod:
        """Raises ValueError with a reason for a spec that is neither octal nor symbolic."""
        if _OCTAL.match(spec):
            return cls(spec, int(spec, 8))
        if not spec or not all(_CLAUSE.match(clause) for clause in spec.split(",")):
            raise ValueError(
                f"invalid chmod {spec!r}: use octal (0755) or symbolic (u+x,g-w) notation"
            )
        return cls(spec, None)

    def apply(self, mode: int, is_dir: bool = False) -> int:
        """The permission bits (0o7777) after applying this spec to ``mode``."""
        if self.octal is not None:
            return self.octal
        mode &= 0o7777
        for clause in self.spec.split(","):
            match = _CLAUSE.match(clause)
            assert match is not None  # validated in parse
            who = match.group(1) or "a"
            if "a" in who:
                who = "ugo"
            mask = 0
            for letter in who:
                mask |= _WHO_BITS[letter]
            for operator, perms in _ACTION.findall(match.group(2)):
                bits = self._bits(perms, mode, is_dir) & mask
                if operator == "+":
                    mode |= bits
                elif operator == "-":
                    mode &= ~bits
                else:
                    mode = (mode & ~mask) | bits
        return mode

    @staticmethod
    def _bits(perms: str, mode: int, is_dir: bool) -> int:
        if perms in ("u", "g", "o"):
            shift = {"u": 6, "g": 3, "o": 0}[perms]
            copied = (mode >> shift) & 0o7
            return copied * 0o111
        bits = 0
        for letter in perms:
            if letter == "X":
                if is_dir or mode & 0o111:
                    bits |= 0o111
            else:
                bits |= _PERM_BITS[letter]
        return bits
