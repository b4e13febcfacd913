"""The typed instructions: one frozen dataclass per Dockerfile instruction.

Build them with ``instructions.parse_instruction``; words are not expanded until
``stages.Scope.expand``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dockyard.dockerfile.mounts import Mount
from dockyard.dockerfile.nodes import Heredoc
from dockyard.location import SourceLocation


@dataclass(frozen=True, kw_only=True)
class Instruction:
    """What every instruction has: where it is and how it was written."""

    keyword: ClassVar[str] = ""
    location: SourceLocation
    original: str  # the logical source line


@dataclass(frozen=True)
class KeyValue:
    key: str
    value: str


@dataclass(frozen=True)
class ArgDef:
    name: str
    default: str | None  # None: ``ARG NAME`` without a value


@dataclass(frozen=True)
class SourceContent:
    """A heredoc used as a COPY/ADD source: a file named ``path`` holding ``data``."""

    path: str
    data: str
    expand: bool


@dataclass(frozen=True, kw_only=True)
class From(Instruction):
    keyword: ClassVar[str] = "FROM"
    base: str
    name: str | None  # lower-cased stage name of ``AS name``
    platform: str | None


@dataclass(frozen=True, kw_only=True)
class Run(Instruction):
    keyword: ClassVar[str] = "RUN"
    command: tuple[str, ...]
    shell_form: bool  # True: command == (text,), run as SHELL + [text]
    heredocs: tuple[Heredoc, ...] = ()
    mounts: tuple[Mount, ...] = ()
    mount_specs: tuple[str, ...] = ()  # the --mount values as written (expanded later)
    network: str | None = None
    security: str | None = None


@dataclass(frozen=True, kw_only=True)
class Cmd(Instruction):
    keyword: ClassVar[str] = "CMD"
    command: tuple[str, ...]
    shell_form: bool


@dataclass(frozen=True, kw_only=True)
class Entrypoint(Instruction):
    keyword: ClassVar[str] = "ENTRYPOINT"
    command: tuple[str, ...]
    shell_form: bool


@dataclass(frozen=True, kw_only=True)
class Shell(Instruction):
    keyword: ClassVar[str] = "SHELL"
    shell: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Env(Instruction):
    keyword: ClassVar[str] = "ENV"
    pairs: tuple[KeyValue, ...]


@dataclass(frozen=True, kw_only=True)
class Label(Instruction):
    keyword: ClassVar[str] = "LABEL"
    pairs: tuple[KeyValue, ...]


@dataclass(frozen=True, kw_only=True)
class Arg(Instruction):
    keyword: ClassVar[str] = "ARG"
    args: tuple[ArgDef, ...]


@dataclass(frozen=True, kw_only=True)
class Copy(Instruction):
    keyword: ClassVar[str] = "COPY"
    sources: tuple[str, ...]
    dest: str
    contents: tuple[SourceContent, ...] = ()
    from_: str | None = None
    chown: str | None = None
    chmod: str | None = None
    link: bool = False
    parents: bool = False
    excludes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Add(Instruction):
    keyword: ClassVar[str] = "ADD"
    sources: tuple[str, ...]
    dest: str
    contents: tuple[SourceContent, ...] = ()
    chown: str | None = None
    chmod: str | None = None
    link: bool = False
    keep_git_dir: bool = False
    checksum: str | None = None
    unpack: bool | None = None
    excludes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Expose(Instruction):
    keyword: ClassVar[str] = "EXPOSE"
    ports: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Volume(Instruction):
    keyword: ClassVar[str] = "VOLUME"
    paths: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class User(Instruction):
    keyword: ClassVar[str] = "USER"
    user: str


@dataclass(frozen=True, kw_only=True)
class Workdir(Instruction):
    keyword: ClassVar[str] = "WORKDIR"
    path: str


@dataclass(frozen=True, kw_only=True)
class Stopsignal(Instruction):
    keyword: ClassVar[str] = "STOPSIGNAL"
    signal: str


@dataclass(frozen=True, kw_only=True)
class Maintainer(Instruction):
    keyword: ClassVar[str] = "MAINTAINER"
    name: str


@dataclass(frozen=True, kw_only=True)
class Healthcheck(Instruction):
    """``test`` as in the image config: ("NONE",), ("CMD", *argv) or ("CMD-SHELL", text)."""

    keyword: ClassVar[str] = "HEALTHCHECK"
    test: tuple[str, ...]
    interval_ns: int = 0
    timeout_ns: int = 0
    start_period_ns: int = 0
    start_interval_ns: int = 0
    retries: int = 0


@dataclass(frozen=True, kw_only=True)
class Onbuild(Instruction):
    keyword: ClassVar[str] = "ONBUILD"
    expression: str  # the trigger as stored in the image config
    trigger: Instruction
