"""Property tests for .dockerignore: arbitrary patterns fail only with IgnoreFileError,
and the walk yields what IgnoreRules.matches keeps (pruning changes nothing)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockyard.dockerfile.ignore import IgnoreRules, walk_context
from dockyard.errors import IgnoreFileError

PATTERN_CHARS = st.sampled_from([*"ab/*?[]^!-\\.:", "**", "[:alpha:]", " ", "\n", "é"])
PATTERNS = st.lists(st.one_of(PATTERN_CHARS, st.characters()), max_size=12).map("".join)
PATHS = st.lists(st.sampled_from(["a", "b", "ab", "a.b", "é", "*", "["]), min_size=1, max_size=4)


@settings(max_examples=500, deadline=None)
@given(st.lists(PATTERNS, max_size=4), st.lists(PATHS.map("/".join), max_size=4))
def test_arbitrary_patterns_fail_only_with_ignore_file_error(
    patterns: list[str], paths: list[str]
) -> None:
    for build in (IgnoreRules.from_patterns, lambda p: IgnoreRules.parse("\n".join(p))):
        try:
            rules = build(patterns)
        except IgnoreFileError:
            continue
        for path in paths:
            assert isinstance(rules.matches(path), bool)


TREE_NAMES = st.sampled_from(["a", "b", "c.md", "d"])
TREES = st.lists(st.lists(TREE_NAMES, min_size=1, max_size=3).map("/".join), max_size=8)
WALK_PATTERNS = st.lists(
    st.sampled_from(
        ["a", "b", "a/b", "*.md", "**/*.md", "a/*", "b/**", "*", "d", "a/b/d", "**/d"]
    ).flatmap(lambda p: st.sampled_from([p, "!" + p])),
    max_size=4,
)


def _unpruned(root: Path, rules: IgnoreRules) -> list[str]:
    """The walk's answer without pruning: every path that ``rules.matches`` keeps, each
    preceded by its excluded parent directories."""
    kept: list[str] = []
    every = sorted(
        (p.relative_to(root).as_posix() for p in root.rglob("*")), key=lambda p: p.split("/")
    )
    for path in every:
        if not rules.matches(path):
            parts = path.split("/")
            for end in range(1, len(parts)):
                ancestor = "/".join(parts[:end])
                if ancestor not in kept:
                    kept.append(ancestor)
            kept.append(path)
    return kept


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(TREES, WALK_PATTERNS)
def test_pruning_does_not_change_the_walk(
    tmp_path: Path, tree: list[str], patterns: list[str]
) -> None:
    root = tmp_path / "ctx"
    if root.exists():
        import shutil

        shutil.rmtree(root)
    root.mkdir()
    for path in tree:
        target = root / path
        if target.exists():
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("x")
        except (FileExistsError, NotADirectoryError):
            continue
    rules = IgnoreRules.from_patterns(patterns)
    walked = [entry.path for entry in walk_context(root, rules)]
    assert walked == _unpruned(root, rules)
