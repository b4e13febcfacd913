"""Instruction flags (``--name=value``) with BuildKit's rules (its ``BFlags``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from dockyard.errors import DockerfileError
from dockyard.location import SourceLocation


class FlagType(Enum):
    BOOL = "bool"
    STRING = "string"
    STRINGS = "strings"  # may repeat: --mount, --exclude


@dataclass
class FlagSet:
    """The flags one instruction accepts, parsed from a node's raw flag words."""

    keyword: str  # for messages: "COPY"
    location: SourceLocation
    spec: dict[str, FlagType] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)

    def parse(self, words: tuple[str, ...]) -> FlagSet:
        for word in words:
            self._parse_one(word)
        return self

    def _fail(self, what: str, hint: str | None = None) -> DockerfileError:
        return DockerfileError(what, self.location, hint)

    def _valid_flags_hint(self, name: str | None = None) -> str:
        names = sorted(self.spec)
        if not names:
            return f"{self.keyword} takes no flags"
        listing = ", ".join(f"--{n}" for n in names)
        if name is not None:
            import difflib

            close = difflib.get_close_matches(name, names, n=1)
            if close:
                return f"did you mean --{close[0]}? valid flags for {self.keyword}: {listing}"
        return f"valid flags for {self.keyword}: {listing}"

    def _parse_one(self, word: str) -> None:
        if not word.startswith("--"):
            raise self._fail(f"Arg should start with -- : {word}")
        name, has_value, value = word[2:].partition("=")
        kind = self.spec.get(name)
        if kind is None:
            raise self._fail(f"unknown flag: --{name}", self._valid_flags_hint(name))
        if kind is FlagType.STRINGS:
            if not has_value:
                raise self._fail(f"Missing a value on flag: --{name}", f"write --{name}=<value>")
            self.lists.setdefault(name, []).append(value)
            return
        if name in self.values:
            raise self._fail(f"Duplicate flag specified: --{name}", "give each flag once")
        if kind is FlagType.BOOL:
            if has_value and value == "":
                raise self._fail(
                    f"Missing a value on flag: --{name}", f"write --{name} or --{name}=true"
                )
            lower = value.lower()
            if lower == "":
                lower = "true"
            if lower not in ("true", "false"):
                raise self._fail(
                    f"Expecting boolean value for flag {name}, not: {value}",
                    f"write --{name}=true or --{name}=false",
                )
            self.values[name] = lower
            return
        if not has_value:
            raise self._fail(f"Missing a value on flag: --{name}", f"write --{name}=<value>")
        self.values[name] = value

    def string(self, name: str) -> str | None:
        return self.values.get(name)

    def boolean(self, name: str) -> bool:
        return self.values.get(name) == "true"

    def optional_boolean(self, name: str) -> bool | None:
        value = self.values.get(name)
        return None if value is None else value == "true"

    def strings(self, name: str) -> tuple[str, ...]:
        return tuple(self.lists.get(name, ()))


def parse_flags(
    keyword: str, location: SourceLocation, words: tuple[str, ...], **spec: FlagType
) -> FlagSet:
    """Parse ``words`` against the accepted flags (keyword arguments: python_name=type).

    Flag names use dashes in the Dockerfile; pass them with underscores here.
    """
    if not words:
        return FlagSet(keyword, location)
    accepted = {name.rstrip("_").replace("_", "-"): kind for name, kind in spec.items()}
    return FlagSet(keyword, location, accepted).parse(words)
