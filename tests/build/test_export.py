"""The config blob a build commits, byte for byte, from a real store's base image.

The base image is written as Docker's engine writes configs (extra fields, ``null``
lists); the Dockerfile sets every config field BuildKit keeps. The expected bytes are
what BuildKit (Docker 20.10's) writes: keys and history entries in Go struct order,
``OnBuild`` null when cleared, Go's HTML escaping.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from dockyard.digest import Digest
from dockyard.plan.convert import plan_build
from dockyard.plan.stages import BuildOptions
from dockyard.solver.build import ImageResolver
from dockyard.solver.export import config_from_template, export_template
from dockyard.solver.progress import Progress
from dockyard.solver.results import LayerRef, Snapshot
from dockyard.store import Store

BASE_CONFIG = {
    "architecture": "amd64",
    "config": {
        "Hostname": "",
        "Env": ["PATH=/bin", "HOME=/root"],
        "Cmd": ["sh"],
        "Image": "",
        "Volumes": None,
        "OnBuild": ["RUN true"],
        "Labels": {"z": "1", "base": "<yes>"},
    },
    "container_config": {"Cmd": ["ignored"]},
    "created": "2024-01-01T00:00:00Z",
    "docker_version": "20.10.24",
    "history": [{"created": "2024-01-01T00:00:00Z", "comment": "Imported from -"}],
    "os": "linux",
    "rootfs": {"type": "layers", "diff_ids": []},  # a base without layers is enough here
}

DOCKERFILES = {
    "full": """\
FROM base:1
MAINTAINER me <me@example.com>
ARG V=1
ENV A=<b>&c B="\u2028x"
LABEL a=1 z=2
EXPOSE 80 53/udp
USER app
VOLUME /data /cache
STOPSIGNAL SIGTERM
SHELL ["/bin/bash", "-c"]
ONBUILD RUN echo later
HEALTHCHECK --interval=5m --retries=3 CMD curl -f http://localhost/ || exit 1
RUN echo hi
WORKDIR /srv
ENTRYPOINT ["/init"]
CMD serve
""",
    # The trigger runs and is cleared: BuildKit writes "OnBuild":null.
    "triggered": "FROM base:1\nRUN echo hi\n",
    "scratch": "FROM scratch\nCOPY . /\nENV A=1\n",
}

GOLDEN = Path(__file__).parent / "golden"


def _build_config(tmp_path: Path, dockerfile: str) -> bytes:
    with Store.open(tmp_path / "store") as store:
        store.commit_raw(json.dumps(BASE_CONFIG).encode(), [], ["base:1"])
        resolver = ImageResolver(store, Progress("quiet", io.StringIO()))
        plan = plan_build(dockerfile, BuildOptions(), resolver).target
    created = "2024-02-02T00:00:00Z"
    layers = (
        LayerRef(str(Digest.of_bytes(b"tar1")), str(Digest.of_bytes(b"gz1")), 1, "x", created),
        LayerRef(str(Digest.of_bytes(b"tar2")), str(Digest.of_bytes(b"gz2")), 1, "x", created),
    )
    results = {
        step.digest: Snapshot(f"key{n}", layers[: n + 1], created)
        for n, step in enumerate(plan.layer_steps)
    }
    # Through JSON, as a build record keeps the template for a rebuild (rebuild.py).
    template = json.loads(json.dumps(export_template(plan)))
    return config_from_template(template, results, [layer.diff_id for layer in layers], None)


@pytest.mark.parametrize("case", sorted(DOCKERFILES))
def test_config_blob_is_buildkits_bytes(tmp_path: Path, case: str) -> None:
    expected = (GOLDEN / f"export-config-{case}.json").read_bytes().rstrip(b"\n")
    assert _build_config(tmp_path, DOCKERFILES[case]) == expected
