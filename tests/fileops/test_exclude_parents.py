"""COPY --exclude and COPY --parents (patternmatcher semantics, as BuildKit)."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.errors import BuildError


def test_exclude_files_by_pattern(copier: Any) -> None:
    copier.make(copier.context, {"a.txt": "A", "b.md": "B", "sub/c.txt": "C", "sub/d.go": "D"})
    result = copier(".", dest="/o/", excludes=("*.txt",))
    assert "o/a.txt" not in result
    assert "o/b.md" in result
    assert "o/sub/c.txt" in result  # "*.txt" matches the top level only
    result = copier(".", dest="/p/", excludes=("**/*.txt",))
    assert "p/sub/c.txt" not in result and "p/sub/d.go" in result


def test_exclude_a_directory_and_an_exception(copier: Any) -> None:
    copier.make(copier.context, {"keep": "K", "node_modules/x/y": "Y", "node_modules/z": "Z"})
    result = copier(".", dest="/o/", excludes=("node_modules",))
    assert sorted(result) == ["o", "o/keep"]
    result = copier(".", dest="/e/", excludes=("node_modules", "!node_modules/z"))
    assert "e/node_modules/z" in result
    assert "e/node_modules/x" not in result


def test_exclude_is_relative_to_each_source(copier: Any) -> None:
    copier.make(copier.context, {"src/a.log": "L", "src/a.c": "C"})
    result = copier("src", dest="/o/", excludes=("*.log",))
    assert sorted(result) == ["o", "o/a.c"]


def test_exclude_changes_the_checksum_only_for_copied_files(copier: Any) -> None:
    copier.make(copier.context, {"a.txt": "A", "b.md": "B"})
    before = copier.plan(".", dest="/o/", excludes=("*.txt",)).checksum
    (copier.context / "a.txt").write_text("changed")
    assert copier.plan(".", dest="/o/", excludes=("*.txt",)).checksum == before
    (copier.context / "b.md").write_text("changed")
    assert copier.plan(".", dest="/o/", excludes=("*.txt",)).checksum != before


def test_parents_keeps_the_source_path(copier: Any) -> None:
    copier.make(copier.context, {"a/b/c.txt": "C", "a/other": "O", "x/y/z.txt": "Z"})
    result = copier("a/b/c.txt", "x/y/z.txt", dest="/dst/", parents=True)
    assert result["dst/a/b/c.txt"].endswith(" C")
    assert result["dst/x/y/z.txt"].endswith(" Z")
    assert "dst/a/other" not in result


def test_parents_with_wildcards(copier: Any) -> None:
    copier.make(copier.context, {"p1/package.json": "1", "p2/package.json": "2", "p2/src": "s"})
    result = copier("*/package.json", dest="/app/", parents=True)
    assert sorted(k for k in result if k.endswith("package.json")) == [
        "app/p1/package.json",
        "app/p2/package.json",
    ]
    assert "app/p2/src" not in result


def test_parents_pivot_point(copier: Any) -> None:
    copier.make(copier.context, {"root/a/b/f": "F"})
    result = copier("root/./a/b/f", dest="/o/", parents=True)
    assert result["o/a/b/f"].endswith(" F")
    assert "o/root" not in result


def test_parents_missing_path_is_an_error(copier: Any) -> None:
    copier.make(copier.context, {"a": "A"})
    with pytest.raises(BuildError, match="not found"):
        copier("nope/file", dest="/o/", parents=True)
