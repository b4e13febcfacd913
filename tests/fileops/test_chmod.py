"""--chmod: octal and symbolic (chmod(1) syntax, as BuildKit 0.12+ accepts)."""

from __future__ import annotations

import stat

import pytest

from dockyard.errors import BuildError
from dockyard.solver.fileops.chmod import parse_chmod

FILE = stat.S_IFREG
DIR = stat.S_IFDIR


@pytest.mark.parametrize(
    ("text", "mode", "expected"),
    [
        ("755", FILE | 0o644, 0o755),
        ("0640", FILE | 0o777, 0o640),
        ("600", FILE | 0o4755, 0o4600),  # setuid kept from the source: fsutil sets 0777 only
        ("u+x", FILE | 0o644, 0o744),
        ("a+x", FILE | 0o644, 0o755),
        ("+x", FILE | 0o644, 0o755),
        ("go-rwx", FILE | 0o755, 0o700),
        ("u=rw,g=r,o=", FILE | 0o777, 0o640),
        ("a=rX", FILE | 0o644, 0o444),
        ("a=rX", FILE | 0o744, 0o555),
        ("a=rX", DIR | 0o700, 0o555),
        ("g=u", FILE | 0o750, 0o770),
        ("o+t", DIR | 0o777, 0o1777),
        ("u+s", FILE | 0o755, 0o4755),
        ("g+s", DIR | 0o755, 0o2755),
        ("u+x,g+x", FILE | 0o600, 0o710),
        ("u-w+x", FILE | 0o644, 0o544),
    ],
)
def test_apply(text: str, mode: int, expected: int) -> None:
    assert parse_chmod(text).apply(mode) == expected


@pytest.mark.parametrize("text", ["", "8", "999", "77777", "z+x", "u+q", "u", "u+x,", "rwx"])
def test_invalid_values_are_refused(text: str) -> None:
    with pytest.raises(BuildError, match="invalid chmod parameter"):
        parse_chmod(text)
