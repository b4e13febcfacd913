"""Docker and skopeo read what dockyard pushes; dockyard pulls what skopeo pushes."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from conftest import dockyard
from dockyard.archive.layers import flatten
from dockyard.digest import Digest
from dockyard.store import Store
from dockyard.store.validate import validate_image

pytestmark = pytest.mark.interop


def _run(*command: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stderr}"
    return result.stdout


def test_docker_pulls_and_runs_a_dockyard_push(
    tmp_path: Path, repo: str, busybox_tarball: Path
) -> None:
    name = f"{repo}:run"
    root = tmp_path / "store"
    change = 'CMD ["/bin/echo", "pushed by dockyard"]'
    dockyard("import", "-c", change, str(busybox_tarball), name, root=root)
    dockyard("push", name, root=root)
    _run("/usr/bin/docker", "pull", "-q", name)
    try:
        output = _run("/usr/bin/docker", "run", "--rm", "--network", "none", name)
        image_id = _run("/usr/bin/docker", "image", "inspect", "-f", "{{.Id}}", name).strip()
    finally:
        subprocess.run(["/usr/bin/docker", "rmi", "-f", name], capture_output=True)
    assert output == "pushed by dockyard\n"
    with Store.open(root) as store:
        assert image_id == str(store.image(name).id)


def test_skopeo_copies_a_dockyard_push_to_an_oci_layout(
    tmp_path: Path, repo: str, busybox_root: Path
) -> None:
    name = f"{repo}:oci"
    dockyard("push", "busybox:latest", name, root=busybox_root)
    layout = tmp_path / "layout"
    _run("skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{name}", f"oci:{layout}:x")
    index = json.loads((layout / "index.json").read_text())
    manifest_digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((layout / "blobs" / "sha256" / manifest_digest).read_text())
    with Store.open(busybox_root) as store:
        assert manifest["config"]["digest"] == str(store.image("busybox:latest").id)


def _unique_tarball(path: Path, text: str) -> Path:
    with tarfile.open(path, "w") as tar:
        data = text.encode()
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
    return path


def _docker_archive(tmp_path: Path, tarball: Path) -> Path:
    """``docker save`` of ``docker import`` of a one-layer tarball."""
    source = f"dockyard-test/skopeo-source:{tmp_path.name.lower()}"[:120]
    _run("/usr/bin/docker", "import", str(tarball), source)
    archive = tmp_path / "image.tar"
    try:
        _run("/usr/bin/docker", "save", "-o", str(archive), source)
    finally:
        subprocess.run(["/usr/bin/docker", "rmi", "-f", source], capture_output=True)
    return archive


def test_pull_of_what_skopeo_pushed_from_a_docker_archive(tmp_path: Path, repo: str) -> None:
    # A layer no registry has seen: skopeo then uploads it instead of reusing a blob.
    tarball = _unique_tarball(tmp_path / "layer.tar", f"hello from {repo}\n")
    archive = _docker_archive(tmp_path, tarball)
    name = f"{repo}:skopeo"
    _run(
        "skopeo", "copy", "-q", "--dest-tls-verify=false",
        f"docker-archive:{archive}", f"docker://{name}",
    )  # fmt: skip
    root = tmp_path / "pulled"
    dockyard("pull", name, root=root)
    with Store.open(root) as store, tarball.open("rb") as layer:
        image = store.image(name)
        validate_image(store, image)
        assert image.diff_ids == (Digest.of_stream(layer)[0],)
        assert image.manifest.media_type == "application/vnd.docker.distribution.manifest.v2+json"


def test_pull_of_uncompressed_layers_that_skopeo_pushed_labelled_gzip(
    tmp_path: Path, repo: str
) -> None:
    tarball = _unique_tarball(tmp_path / "layer.tar", f"plain, labelled gzip, {repo}\n")
    archive = _docker_archive(tmp_path, tarball)
    layout, name = tmp_path / "layout", f"{repo}:relabelled"
    _run("skopeo", "copy", "-q", "--dest-decompress", f"docker-archive:{archive}", f"dir:{layout}")
    _run(
        "skopeo", "copy", "-q", "--preserve-digests", "--dest-tls-verify=false",
        f"dir:{layout}", f"docker://{name}",
    )  # fmt: skip
    manifest = json.loads(
        _run("skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{name}")
    )
    diff_id = Digest.of_bytes(tarball.read_bytes())
    [layer] = manifest["layers"]  # the plain tar (its digest is the diff_id), called gzip
    assert (layer["mediaType"], layer["digest"]) == (
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        str(diff_id),
    )
    root = tmp_path / "pulled"
    dockyard("pull", name, root=root)
    dockyard("system", "check", root=root)
    with Store.open(root) as store:
        image = store.image(name)
        validate_image(store, image)
        flat = tmp_path / "flat"
        flat.mkdir()
        flatten(store, image.diff_ids, flat)
    assert (flat / "hello.txt").read_text() == f"plain, labelled gzip, {repo}\n"
