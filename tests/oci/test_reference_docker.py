"""Reference parsing against dockerd itself: ``docker tag`` accepts exactly the names
dockyard accepts, and stores the same normalised name."""

from __future__ import annotations

import json
import subprocess

import pytest

from dockyard.errors import StoreError
from dockyard.oci import ImageReference
from images import busybox_docker_image, busybox_tarball  # noqa: F401 (fixtures)

pytestmark = pytest.mark.interop
DOCKER = "/usr/bin/docker"
NAMES = [
    "dyst-ref", "dyst-ref:v1.0_rc-2", "docker.io/dyst-ref:a", "index.docker.io/dyst/ref:b",
    "docker.io/library/dyst-ref:c", "localhost/dyst-ref", "localhost:5000/dyst/ref:d",
    "127.0.0.1:5000/dyst-ref", "example.com/a/b/dyst-ref:e", "dyst__ref/x", "dyst-ref/a.b-c_d",
    "Dyst.Example/ref:f", "dyst-Ref", "dyst-ref:", ":tag", "dyst-ref:.bad", "dyst-ref/",
    "dyst-ref//x", "-dyst-ref", "dyst_-ref", "dyst-ref:" + "t" * 128, "dyst-ref:" + "t" * 129,
    "dyst-ref@sha256:" + "a" * 64, "a" * 64, "dyst-ref:tag with space",
]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_docker_tag_agrees(name: str, busybox_docker_image: str) -> None:  # noqa: F811
    try:
        ours: ImageReference | None = ImageReference.parse_tagged(name)
    except StoreError:
        ours = None
    tagged = subprocess.run([DOCKER, "tag", busybox_docker_image, name], capture_output=True,
                            text=True, check=False)  # fmt: skip
    try:
        if ours is None or ours.digest is not None:
            assert tagged.returncode != 0, f"docker accepted {name!r}, dockyard refuses it"
            return
        assert tagged.returncode == 0, f"dockyard accepts {name!r}: {tagged.stderr}"
        inspected = subprocess.run([DOCKER, "image", "inspect", "-f", "{{json .RepoTags}}",
                                    name], capture_output=True, text=True, check=True)  # fmt: skip
        assert ours.familiar() in json.loads(inspected.stdout)
    finally:
        if tagged.returncode == 0:
            subprocess.run([DOCKER, "rmi", name], capture_output=True, check=False)
