""".dockerignore with Docker's semantics (moby/patternmatcher, its ignorefile reader,
and the context walk of tonistiigi/fsutil that BuildKit uses).

A pattern excludes a path when it matches the path or one of its parent directories;
patterns apply in order and a ``!`` pattern re-includes, so the last one that applies
wins. :func:`walk_context` lists a build context the way BuildKit sends it: an excluded
directory is not even read unless an exception pattern could re-include something inside
it, and a directory that is excluded itself still appears when something inside it is
re-included.

The walk decides with the same rule as :meth:`IgnoreRules.matches` (patternmatcher's
MatchesOrParentMatches, which Docker's builder gives on this machine). fsutil's newer
MatchesUsingParentResults can differ from it: with ``a/b`` then ``!a``, it keeps
excluding ``a/b/x``, because ``!a`` was skipped for ``a`` and is then tried on ``a/b/x``
alone; here ``a/b/x`` is kept, as MatchesOrParentMatches says.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from dockyard.dockerfile._goregex import (
    GO_SPACE,
    check_match_syntax,
    go_clean,
    go_dir,
    go_regex_to_python,
)
from dockyard.errors import IgnoreFileError

__all__ = [
    "ContextEntry",
    "IgnorePattern",
    "IgnoreRules",
    "load_ignore_rules",
    "walk_context",
]

DOCKERIGNORE = ".dockerignore"
# Characters that make a pattern more than a plain path prefix (fsutil's patternChars).
_GLOB_CHARS = frozenset("*[]?^\\")
# Regexp metacharacters that mean nothing to filepath.Match, escaped when compiling.
_REGEX_ONLY = frozenset(".+()|{}$")


class _Kind(Enum):
    EXACT = "exact"
    PREFIX = "prefix"
    SUFFIX = "suffix"
    REGEX = "regex"


@dataclass(frozen=True)
class IgnorePattern:
    """One cleaned pattern; ``exclusion`` for a ``!`` (re-include) pattern."""

    pattern: str
    exclusion: bool
    _kind: _Kind = field(repr=False, compare=False)
    _regex: re.Pattern[str] | None = field(repr=False, compare=False)

    @classmethod
    def compile(cls, raw: str) -> IgnorePattern | None:
        """patternmatcher.New for one pattern; None for a blank one."""
        text = go_clean(raw.strip(GO_SPACE)) if raw.strip(GO_SPACE) else ""
        if not text:
            return None
        exclusion = text.startswith("!")
        if exclusion:
            if len(text) == 1:
                raise IgnoreFileError(
                    'illegal exclusion pattern: "!"', "write the path to re-include after the !"
                )
            text = text[1:]
        try:
            check_match_syntax(text)
            kind, expression = _translate(text)
            regex = go_regex_to_python(expression) if kind is _Kind.REGEX else None
        except ValueError as error:
            raise IgnoreFileError(
                f"invalid .dockerignore pattern {raw.strip(GO_SPACE)!r}: {error}",
                "patterns use *, ?, [a-z], ** and \\ to escape; check brackets and escapes",
            ) from None
        return cls(text, exclusion, kind, regex)

    def matches(self, path: str) -> bool:
        """Does this pattern match exactly ``path`` (no parent directories)?"""
        kind = self._kind
        if kind is _Kind.EXACT:
            return path == self.pattern
        if kind is _Kind.PREFIX:
            return path.startswith(self.pattern[:-2])
        if kind is _Kind.SUFFIX:
            suffix = self.pattern[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        assert self._regex is not None
        return self._regex.match(path) is not None

    def matches_or_parent(self, path: str, parents: list[str]) -> bool:
        return self.matches(path) or any(self.matches(parent) for parent in parents)

    @property
    def literal_prefix(self) -> str:
        """The pattern without a trailing ``/**`` or ``/*`` (fsutil's
        patternWithoutTrailingGlob)."""
        return self.pattern.removesuffix("/**").removesuffix("/*")


def _translate(pattern: str) -> tuple[_Kind, str]:
    """patternmatcher's Pattern.compile: the match kind and, for REGEX, the Go regexp."""
    out = ["^"]
    kind = _Kind.EXACT
    # Go's text/scanner skips a byte-order mark at the start.
    chars = pattern.removeprefix("\ufeff")
    index, length, token = 0, len(chars), 0
    while index < length:
        char = chars[index]
        index += 1
        if char == "*":
            if index < length and chars[index] == "*":
                index += 1
                if index < length and chars[index] == "/":
                    index += 1
                if index >= length:
                    if kind is _Kind.EXACT:
                        kind = _Kind.PREFIX
                    else:
                        out.append(".*")
                        kind = _Kind.REGEX
                else:
                    out.append("(.*/)?")
                    kind = _Kind.REGEX
                if token == 0:
                    kind = _Kind.SUFFIX
            else:
                out.append("[^/]*")
                kind = _Kind.REGEX
        elif char == "?":
            out.append("[^/]")
            kind = _Kind.REGEX
        elif char in _REGEX_ONLY:
            out.append("\\" + char)
        elif char == "\\":
            if index < length:
                out.append("\\" + chars[index])
                index += 1
                kind = _Kind.REGEX
            else:
                out.append("\\")
        elif char in "[]":
            out.append(char)
            kind = _Kind.REGEX
        else:
            out.append(char)
        token += 1
    out.append("$")
    return kind, "".join(out)


@dataclass(frozen=True)
class IgnoreRules:
    """An ordered list of .dockerignore patterns (patternmatcher.PatternMatcher)."""

    patterns: tuple[IgnorePattern, ...] = ()

    @classmethod
    def parse(cls, text: str) -> IgnoreRules:
        """The rules of a .dockerignore file (ignorefile.ReadAll, then New)."""
        return cls.from_patterns(read_ignore_lines(text))

    @classmethod
    def from_patterns(cls, patterns: Iterable[str]) -> IgnoreRules:
        """Rules from raw patterns, as patternmatcher.New takes them (no comment
        handling and no leading ``/`` removal; COPY --exclude uses this)."""
        compiled = (IgnorePattern.compile(raw) for raw in patterns)
        return cls(tuple(pattern for pattern in compiled if pattern is not None))

    @property
    def has_exclusions(self) -> bool:
        """Is there any ``!`` pattern?"""
        return any(pattern.exclusion for pattern in self.patterns)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matches(self, path: str) -> bool:
        """Is ``path`` (relative, ``/``-separated, used as written) excluded?

        patternmatcher's MatchesOrParentMatches: a pattern applies when it matches the
        path or any parent directory of it.
        """
        parent = go_dir(path)
        parents: list[str] = []
        if parent != ".":
            parts = parent.split("/")
            parents = ["/".join(parts[: end + 1]) for end in range(len(parts))]
        excluded = False
        for pattern in self.patterns:
            if pattern.exclusion != excluded:
                continue
            if pattern.matches_or_parent(path, parents):
                excluded = not pattern.exclusion
        return excluded

    def _match_in_walk(
        self, path: str, parent_hits: tuple[bool, ...] | None
    ) -> tuple[bool, tuple[bool, ...]]:
        """:meth:`matches` for a walk: ``parent_hits[i]`` says whether pattern ``i``
        matches the parent directory or one of its parents (None at the top). Returns
        (excluded, the same tuple for ``path``, for its children)."""
        if parent_hits is None:
            hits = tuple(pattern.matches(path) for pattern in self.patterns)
        else:
            hits = tuple(
                inherited or pattern.matches(path)
                for pattern, inherited in zip(self.patterns, parent_hits, strict=True)
            )
        excluded = False
        for pattern, hit in zip(self.patterns, hits, strict=True):
            if hit and pattern.exclusion == excluded:
                excluded = not pattern.exclusion
        return excluded, hits

    def _may_reinclude_inside(self, directory: str) -> bool:
        """Could an exception pattern re-include something under an excluded
        ``directory``? (fsutil's pruning test; True when exceptions use wildcards.)"""
        exceptions = [pattern for pattern in self.patterns if pattern.exclusion]
        if not exceptions:
            return False
        if any(_GLOB_CHARS.intersection(pattern.literal_prefix) for pattern in exceptions):
            return True
        prefix = directory + "/"
        return any((pattern.literal_prefix + "/").startswith(prefix) for pattern in exceptions)


def read_ignore_lines(text: str) -> list[str]:
    """The patterns of a .dockerignore file (ignorefile.ReadAll): a BOM is dropped,
    lines starting with ``#`` are comments, lines are trimmed, blank ones dropped, and
    each pattern (after an optional ``!``) is cleaned and loses one leading ``/``."""
    patterns: list[str] = []
    for number, raw_line in enumerate(text.split("\n")):
        line = raw_line.removesuffix("\r")
        if number == 0:
            line = line.removeprefix("\ufeff")
        if line.startswith("#"):
            continue
        pattern = line.strip(GO_SPACE)
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip(GO_SPACE)
        if pattern:
            pattern = go_clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        patterns.append("!" + pattern if invert else pattern)
    return patterns


def load_ignore_rules(context_dir: Path, dockerfile_path: Path | None = None) -> IgnoreRules:
    """The rules for a build: ``<Dockerfile name>.dockerignore`` next to the Dockerfile
    if it exists, else ``<context>/.dockerignore``, else no rules."""
    candidates = []
    if dockerfile_path is not None:
        candidates.append(dockerfile_path.with_name(dockerfile_path.name + DOCKERIGNORE))
    candidates.append(context_dir / DOCKERIGNORE)
    for candidate in candidates:
        try:
            data = candidate.read_bytes()
        except FileNotFoundError:
            continue
        except IsADirectoryError:
            raise IgnoreFileError(
                f"{candidate} is a directory", "an ignore file must be a regular file"
            ) from None
        except OSError as error:
            raise IgnoreFileError(
                f"cannot read {candidate}: {error.strerror}", "check its permissions"
            ) from None
        return IgnoreRules.parse(data.decode("utf-8", "surrogateescape"))
    return IgnoreRules()


@dataclass(frozen=True)
class ContextEntry:
    """One path of a build context: relative, ``/``-separated, with its lstat."""

    path: str
    stat: os.stat_result

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.stat.st_mode)


_NO_HITS: tuple[bool, ...] = ()


@dataclass
class _OpenDir:
    """A directory the walk is inside of."""

    path: str
    stat: os.stat_result
    hits: tuple[bool, ...]  # per pattern: matches this directory or a parent of it
    emitted: bool


def walk_context(context_dir: Path, rules: IgnoreRules | None = None) -> Iterator[ContextEntry]:
    """Every path of the context that the rules keep, depth first, names in byte order,
    a directory before its contents (the context root itself is not listed).

    Symlinks are listed, never followed. An excluded directory is pruned without being
    read unless an exception could re-include something inside it; a directory that is
    excluded is still listed (just before its first entry) when something inside it is
    kept, so that the kept entry has a parent.
    """
    rules = rules or IgnoreRules()
    # One open directory per level: (its iterator of entries, the chain of parents).
    stack: list[tuple[Iterator[os.DirEntry[str]], list[_OpenDir]]] = [
        (_sorted_entries(os.fspath(context_dir)), [])
    ]
    while stack:
        entries, parents = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        relative = f"{parents[-1].path}/{entry.name}" if parents else entry.name
        is_dir = entry.is_dir(follow_symlinks=False)
        excluded, hits = False, _NO_HITS
        if rules:
            excluded, hits = rules._match_in_walk(relative, parents[-1].hits if parents else None)
            if excluded and (not is_dir or not rules._may_reinclude_inside(relative)):
                continue
        try:
            info = entry.stat(follow_symlinks=False)
        except FileNotFoundError:  # removed while we walk
            continue
        except OSError as error:
            raise _unreadable(entry.path, error) from None
        if not excluded:
            for parent in parents:
                if not parent.emitted:
                    parent.emitted = True
                    yield ContextEntry(parent.path, parent.stat)
            yield ContextEntry(relative, info)
        if is_dir:
            opened = _OpenDir(relative, info, hits, emitted=not excluded)
            stack.append((_sorted_entries(entry.path), [*parents, opened]))


def _sorted_entries(directory: str) -> Iterator[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda entry: os.fsencode(entry.name))
    except OSError as error:
        raise _unreadable(directory, error) from None
    return iter(entries)


def _unreadable(path: str, error: OSError) -> IgnoreFileError:
    return IgnoreFileError(
        f"cannot read {path} in the build context: {error.strerror}",
        "make it readable, or exclude it in .dockerignore",
    )
