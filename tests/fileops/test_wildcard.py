"""Go filepath.Match semantics (the table follows Go's own match tests)."""

from __future__ import annotations

import pytest

from dockyard.solver.fileops.wildcard import contains_wildcards, match, split_wildcards

CASES = [
    ("abc", "abc", True),
    ("*", "abc", True),
    ("*c", "abc", True),
    ("a*", "a", True),
    ("a*", "abc", True),
    ("a*", "ab/c", False),
    ("a*/b", "abc/b", True),
    ("a*/b", "a/c/b", False),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False),
    ("a*b?c*x", "abxbbxdbxebxczzx", True),
    ("a*b?c*x", "abxbbxdbxebxczzy", False),
    ("ab[c]", "abc", True),
    ("ab[b-d]", "abc", True),
    ("ab[e-g]", "abc", False),
    ("ab[^c]", "abc", False),
    ("ab[^b-d]", "abc", False),
    ("ab[^e-g]", "abc", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "ab", False),
    ("a?b", "a☺b", True),
    ("a[^a]b", "a☺b", True),
    ("a???b", "a☺b", False),
    ("[a-ζ]*", "α", True),
    ("*[a-ζ]", "A", False),
    ("a?b", "a/b", False),
    ("a*b", "a/b", False),
    ("[\\]a]", "]", True),
    ("[\\-]", "-", True),
    ("[x\\-]", "x", True),
    ("[x\\-]", "-", True),
    ("[x\\-]", "z", False),
    ("[\\-x]", "x", True),
    ("[]a]", "]", False),  # bad pattern
    ("[-]", "-", False),  # bad pattern
    ("[x-]", "x", False),  # bad pattern
    ("[a-b-c]", "a", False),  # bad pattern
    ("[", "a", False),  # bad pattern
    ("[^", "a", False),  # bad pattern
    ("a[", "a", False),  # bad pattern
    ("*x", "xxx", True),
    ("!.txt", "!.txt", True),  # '!' is not negation in Go
    ("[!a]", "!", True),
]


@pytest.mark.parametrize(("pattern", "name", "expected"), CASES)
def test_match_like_go(pattern: str, name: str, expected: bool) -> None:
    assert match(pattern, name) is expected


def test_contains_wildcards_skips_escaped() -> None:
    assert contains_wildcards("a*")
    assert contains_wildcards("[ab]")
    assert not contains_wildcards("a\\*")
    assert not contains_wildcards("plain/path")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("src/*.js", ("src", "*.js")),
        ("/a/b/c", ("a/b/c", "")),
        ("a/*/c/d", ("a", "*/c/d")),
        ("./x*", ("", "x*")),
        ("*", ("", "*")),
    ],
)
def test_split_wildcards(path: str, expected: tuple[str, str]) -> None:
    assert split_wildcards(path) == expected
