"""What the planner knows about stages while it dispatches their instructions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from dockyard.oci.config import ContainerConfig, History
from dockyard.plan.graph import Vertex


@dataclass(frozen=True)
class BaseImage:
    """A base image resolved from the store (the solver resolves; the planner reads)."""

    ref: str  # normalised, e.g. docker.io/library/busybox:latest
    manifest_digest: str
    diff_ids: tuple[str, ...]
    config: ContainerConfig
    history: tuple[History, ...] = ()
    architecture: str = "amd64"
    os: str = "linux"
    variant: str = ""
    author: str = ""


@dataclass(frozen=True)
class StagePlan:
    """The result of planning one stage: its filesystem vertex, config and history."""

    index: int
    name: str | None
    vertex: Vertex
    config: ContainerConfig
    # The base image's entries (``base_history`` of them, kept as they are), then the
    # stage's own, which the build times when it commits.
    history: tuple[History, ...]
    base: BaseImage | None  # the image at the bottom of the stage's layer chain
    author: str = ""
    base_history: int = 0
    # The layer-producing vertices of this stage above the base, bottom first.
    layer_steps: tuple[Vertex, ...] = ()


@dataclass(frozen=True)
class BuildOptions:
    """Inputs of a plan other than the Dockerfile and the base images."""

    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    network: str = "default"
    source_date_epoch: int | None = None
    dockerfile_name: str = "Dockerfile"


@dataclass(frozen=True)
class BuildPlan:
    """The build graph of a Dockerfile for one target."""

    target: StagePlan
    stages: tuple[StagePlan, ...]
    context: Vertex
    unused_build_args: tuple[str, ...] = ()
