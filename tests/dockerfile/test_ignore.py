"""Golden cases for .dockerignore: reading the file, pattern details that come from Go's
regexp, which ignore file wins, and the context walk (pruning and re-inclusion)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.dockerfile.ignore import (
    IgnoreRules,
    load_ignore_rules,
    read_ignore_lines,
    walk_context,
)
from dockyard.errors import IgnoreFileError


def test_read_ignore_lines() -> None:
    text = "\ufeff# comment\n  # not a comment\n\n/abs/path\n! /x/../y \r\n./a//b/\n!\n/\n"
    assert read_ignore_lines(text) == ["# not a comment", "abs/path", "!y", "a/b", "!", "/"]


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        (["*.md", "!README.md"], "README.md", False),
        (["*.md"], "docs/guide.md", False),  # * does not cross /
        (["**/*.md", "!**/README.md"], "docs/README.md", False),
        (["docs", "!docs/keep"], "docs/keep/file", False),
        (["docs", "!docs/keep", "docs/keep/secret"], "docs/keep/secret/x", True),
        (["[[:digit:]]*"], "1abc", True),  # Go regexp POSIX classes inside brackets
        (["[[:digit:]]*"], "abc", False),
        (["a\\tb"], "a\tb", True),  # \t is Go's tab escape, not a literal t
        (["a\\tb"], "atb", False),
        (["*"], "new\nline", False),  # Go's [^/] does not match a newline
        (["new?line"], "new\nline", False),
        (["a$"], "a$", True),  # regexp metacharacters are literal
        (["a.c"], "abc", False),
        (["(x|y)"], "(x|y)", True),
        (["dir/**"], "dir", False),
        (["dir/**"], "dir/a/b", True),
        (["**"], "anything/at/all", True),
        (["**file"], "dir/myfile", True),
        (["a^b"], "a^b", True),  # no wildcard: compared as a string
        (["a^b*"], "a^bc", False),  # ^ is an anchor in the Go expression: never matches
        (["x/"], "x/y", True),
    ],
)
def test_pattern_semantics(patterns: list[str], path: str, excluded: bool) -> None:
    assert IgnoreRules.from_patterns(patterns).matches(path) is excluded


@pytest.mark.parametrize("pattern", ["[", "a\\", "[z-a]x", "\\é", "[[:nope:]]", "\\pL", "!"])
def test_invalid_patterns(pattern: str) -> None:
    with pytest.raises(IgnoreFileError):
        IgnoreRules.parse(pattern)


def _tree(root: Path, paths: list[str]) -> None:
    for path in paths:
        target = root / path
        if path.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path)


def _walked(root: Path, ignore: str) -> list[str]:
    return [entry.path for entry in walk_context(root, IgnoreRules.parse(ignore))]


@pytest.fixture
def context(tmp_path: Path) -> Path:
    _tree(
        tmp_path,
        [
            "Dockerfile",
            "app/main.py",
            "app/__pycache__/main.pyc",
            "node_modules/lib/index.js",
            "node_modules/keep/x.js",
            "build/out.bin",
            "docs/README.md",
            "docs/guide.md",
            "empty/",
        ],
    )
    return tmp_path


def test_walk_without_rules_lists_everything_sorted(context: Path) -> None:
    assert [entry.path for entry in walk_context(context)] == [
        "Dockerfile",
        "app",
        "app/__pycache__",
        "app/__pycache__/main.pyc",
        "app/main.py",
        "build",
        "build/out.bin",
        "docs",
        "docs/README.md",
        "docs/guide.md",
        "empty",
        "node_modules",
        "node_modules/keep",
        "node_modules/keep/x.js",
        "node_modules/lib",
        "node_modules/lib/index.js",
    ]


def test_walk_excludes_files_and_directories(context: Path) -> None:
    assert _walked(context, "node_modules\n**/__pycache__\n*.md\nbuild/*\n") == [
        "Dockerfile",
        "app",
        "app/main.py",
        "build",
        "docs",
        "docs/README.md",  # *.md only matches at the top
        "docs/guide.md",
        "empty",
    ]


def test_walk_prunes_an_excluded_directory_without_reading_it(
    context: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[str] = []
    real_scandir = os.scandir

    def scandir_spy(path: str) -> Iterator[os.DirEntry[str]]:
        read.append(os.path.relpath(path, context))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir_spy)
    paths = _walked(context, "node_modules\napp/__pycache__\n")
    assert "node_modules" not in paths and "app/__pycache__" not in paths
    assert sorted(read) == [".", "app", "build", "docs", "empty"]
    read.clear()
    # an exception inside node_modules makes the walk read it, but only where needed
    _walked(context, "node_modules\n!node_modules/keep\n")
    assert "node_modules" in read and "node_modules/keep" in read
    assert "node_modules/lib" not in read


def test_walk_reincludes_a_file_inside_an_excluded_directory(context: Path) -> None:
    assert _walked(context, "node_modules\n!node_modules/keep/x.js\n") == [
        "Dockerfile",
        "app",
        "app/__pycache__",
        "app/__pycache__/main.pyc",
        "app/main.py",
        "build",
        "build/out.bin",
        "docs",
        "docs/README.md",
        "docs/guide.md",
        "empty",
        "node_modules",  # listed because something inside is kept
        "node_modules/keep",
        "node_modules/keep/x.js",
    ]


def test_walk_with_wildcard_exception_descends_everywhere(context: Path) -> None:
    assert _walked(context, "*\n!**/*.md\n") == [
        "docs",
        "docs/README.md",
        "docs/guide.md",
    ]


def test_walk_excluding_everything_but_one_directory(context: Path) -> None:
    assert _walked(context, "*\n!app\napp/__pycache__\n") == ["app", "app/main.py"]


def test_walk_decides_like_matches_or_parent_matches(tmp_path: Path) -> None:
    # Checked against Docker 20.10's builder here: a/b/x is sent (fsutil's newer
    # MatchesUsingParentResults would drop it, see the module docstring).
    _tree(tmp_path, ["a/b/x", "a/y", "c/d/e", "c/f"])
    assert _walked(tmp_path, "a/b\n!a\nc\n!c/d/e\n") == [
        "a",
        "a/b",
        "a/b/x",
        "a/y",
        "c",
        "c/d",
        "c/d/e",
    ]


def test_walk_lists_symlinks_without_following(context: Path) -> None:
    (context / "link").symlink_to("app")
    entries = {entry.path: entry for entry in walk_context(context)}
    assert "link" in entries and "link/main.py" not in entries
    assert not entries["link"].is_dir and entries["app"].is_dir


def test_load_prefers_the_dockerfile_specific_ignore_file(tmp_path: Path) -> None:
    _tree(tmp_path, ["ctx/a", "ctx/b", "files/build.Dockerfile"])
    (tmp_path / "ctx" / ".dockerignore").write_text("a\n")
    dockerfile = tmp_path / "files" / "build.Dockerfile"
    assert load_ignore_rules(tmp_path / "ctx", dockerfile).matches("a")
    (tmp_path / "files" / "build.Dockerfile.dockerignore").write_text("b\n")
    rules = load_ignore_rules(tmp_path / "ctx", dockerfile)
    assert rules.matches("b") and not rules.matches("a")
    assert load_ignore_rules(tmp_path / "ctx").matches("a")
    assert not load_ignore_rules(tmp_path / "files")


def test_load_rejects_a_directory(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").mkdir()
    with pytest.raises(IgnoreFileError):
        load_ignore_rules(tmp_path)
