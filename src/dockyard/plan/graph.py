"""The build graph: immutable vertices digested from their canonical form.

A vertex is an operation (``op``) applied to input vertices. Four kinds exist, as in
BuildKit's LLB: *source* (an image from the store, ``scratch``, the build context),
*exec* (a RUN), *file* (COPY/ADD/WORKDIR's mkdir) and *merge* (COPY --link stacking a
layer on a parent without reading it). The digest of a vertex is the sha256 of the
canonical JSON of its op and the digests of its inputs; fields that cannot change the
result (progress names, Dockerfile locations, proxy environment) are kept out, so two
vertices with the same digest always produce the same filesystem and are solved once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from dockyard.location import SourceLocation
from dockyard.plan.canonical import canonical_json, sha256_hex


class Op:
    """Base of every operation. ``canonical()`` is what the digest covers."""

    kind: ClassVar[str] = "op"
    # Fields named here are left out of the canonical form (they cannot change results).
    volatile: ClassVar[frozenset[str]] = frozenset()
    # Whether the result of the op is a filesystem snapshot that adds one layer.
    adds_layer: ClassVar[bool] = False

    def canonical(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for item in fields(self):  # type: ignore[arg-type]
            if item.name not in self.volatile:
                out[item.name] = _plain(getattr(self, item.name))
        return out


def _plain(value: object) -> object:
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if hasattr(value, "__dataclass_fields__"):
        return {
            item.name: _plain(getattr(value, item.name))
            for item in fields(value)  # type: ignore[arg-type]
        }
    return value


@dataclass(frozen=True)
class ImageSource(Op):
    """An image from the store: its layers, in order."""

    kind: ClassVar[str] = "source.image"
    ref: str
    manifest_digest: str
    diff_ids: tuple[str, ...]


@dataclass(frozen=True)
class ScratchSource(Op):
    """The empty filesystem (``FROM scratch``)."""

    kind: ClassVar[str] = "source.scratch"


@dataclass(frozen=True)
class ContextSource(Op):
    """The local build context (a directory); COPY reads selected files from it."""

    kind: ClassVar[str] = "source.context"
    name: str = "context"


@dataclass(frozen=True)
class Mount:
    """A RUN --mount. ``input`` indexes the exec vertex's inputs (-1: none)."""

    type: str
    target: str
    input: int = -1
    source: str = "/"
    readonly: bool = True
    cache_id: str = ""
    sharing: str = "shared"
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    size: int | None = None
    secret_id: str = ""
    required: bool = False
    env: str = ""
    # type "file": a read-only file with this content (a RUN heredoc script).
    data: str = ""


@dataclass(frozen=True)
class ExecOp(Op):
    """A RUN: ``args`` in ``cwd`` as ``user`` over the input-0 snapshot."""

    kind: ClassVar[str] = "exec"
    volatile: ClassVar[frozenset[str]] = frozenset({"proxy_env"})
    adds_layer: ClassVar[bool] = True
    args: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str
    user: str
    network: str = "default"
    mounts: tuple[Mount, ...] = ()
    hostname: str = ""
    proxy_env: tuple[str, ...] = ()


@dataclass(frozen=True)
class CopyAction:
    """COPY/ADD: ``sources`` of input 1 into ``dest`` of input 0 (copyops implements it)."""

    sources: tuple[str, ...]
    dest: str
    chown: str = ""
    chmod: str = ""
    is_add: bool = False
    link: bool = False
    parents: bool = False
    excludes: tuple[str, ...] = ()
    keep_git_dir: bool = False
    checksum: str = ""
    unpack: bool | None = None
    # Heredoc sources: (name, data) pairs written as files instead of reading input 1.
    contents: tuple[tuple[str, str], ...] = ()
    # The stage's WORKDIR, for relative destinations.
    workdir: str = "/"


@dataclass(frozen=True)
class MkdirAction:
    """WORKDIR: create ``path`` (and parents) owned by ``user`` if missing."""

    path: str
    mode: int = 0o755
    user: str = ""


@dataclass(frozen=True)
class FileOp(Op):
    """A filesystem change on the input-0 snapshot."""

    kind: ClassVar[str] = "file"
    adds_layer: ClassVar[bool] = True
    action: CopyAction | MkdirAction


@dataclass(frozen=True)
class MergeOp(Op):
    """Stack the layers of input 1 on top of input 0 (COPY --link)."""

    kind: ClassVar[str] = "merge"


@dataclass(frozen=True)
class Vertex:
    """One node of the build graph. Equality and hashing follow the digest."""

    op: Op
    inputs: tuple[Vertex, ...] = ()
    name: str = field(default="", compare=False)
    location: SourceLocation | None = field(default=None, compare=False)
    digest: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        body = {"op": self.op.canonical(), "inputs": [item.digest for item in self.inputs]}
        object.__setattr__(self, "digest", sha256_hex(canonical_json(body)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vertex) and other.digest == self.digest

    def __hash__(self) -> int:
        return hash(self.digest)

    def walk(self) -> Iterator[Vertex]:
        """Every vertex this one depends on and itself, inputs first, each once."""
        seen: set[str] = set()
        stack: list[tuple[Vertex, bool]] = [(self, False)]
        while stack:
            vertex, expanded = stack.pop()
            if expanded:
                yield vertex
                continue
            if vertex.digest in seen:
                continue
            seen.add(vertex.digest)
            stack.append((vertex, True))
            stack.extend((item, False) for item in reversed(vertex.inputs))


def topological(targets: list[Vertex]) -> list[Vertex]:
    """All vertices the targets need, inputs before users, de-duplicated by digest."""
    order: list[Vertex] = []
    seen: set[str] = set()
    for target in targets:
        for vertex in target.walk():
            if vertex.digest not in seen:
                seen.add(vertex.digest)
                order.append(vertex)
    return order


_OPS: dict[str, type[Op]] = {
    op.kind: op for op in (ImageSource, ScratchSource, ContextSource, ExecOp, FileOp, MergeOp)
}


def op_from_canonical(data: Mapping[str, Any]) -> Op:
    """The op whose canonical form is ``data`` (what a build record keeps).

    Volatile fields are not in that form and come back with their defaults: check
    the digest of a vertex made from it before trusting it.
    """
    values = {name: _tuples(value) for name, value in data.items() if name != "kind"}
    kind = _OPS[data["kind"]]
    if kind is ExecOp:
        values["mounts"] = tuple(Mount(**dict(mount)) for mount in data["mounts"])
    elif kind is FileOp:
        action = {name: _tuples(value) for name, value in data["action"].items()}
        values["action"] = CopyAction(**action) if "sources" in action else MkdirAction(**action)
    return kind(**values)


def _tuples(value: Any) -> Any:
    """Lists (the canonical form of tuples) back into tuples."""
    if isinstance(value, list):
        return tuple(_tuples(item) for item in value)
    return value
