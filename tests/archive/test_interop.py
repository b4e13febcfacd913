"""dockyard's images with the real tools: docker load/run/save, skopeo, umoci."""

from __future__ import annotations

import gzip
import io
import json
import os
import secrets
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.archive.layers import flatten
from dockyard.digest import Digest
from dockyard.oci import ContainerConfig, History, ImageConfig, media
from dockyard.store import Layer, Store, validate_image
from images import busybox_docker_image, busybox_tarball  # noqa: F401 (fixtures)

from .helpers import Entry, dockyard, tree_of_dir, tree_of_tar

pytestmark = pytest.mark.interop
DOCKER = "/usr/bin/docker"
# What `docker create` adds to a container's filesystem (mount points, .dockerenv).
DOCKER_RUNTIME_PATHS = {".dockerenv", "dev", "proc", "sys", "etc/hostname", "etc/hosts",
                        "etc/resolv.conf", "etc/mtab"}  # fmt: skip


def docker(*args: str, input: bytes | None = None) -> bytes:
    result = subprocess.run([DOCKER, *args], input=input, capture_output=True, check=False,
                            env={**os.environ, "DOCKER_BUILDKIT": "1"})  # fmt: skip
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


@pytest.fixture
def docker_names() -> Iterator[list[str]]:
    """Unique docker image names for one test, removed afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        subprocess.run([DOCKER, "rmi", "-f", name], capture_output=True, check=False)


def _without_runtime_paths(tree: dict[str, Entry]) -> dict[str, Entry]:
    return {path: entry for path, entry in tree.items() if path not in DOCKER_RUNTIME_PATHS
            and not path.startswith(("dev/", "proc/", "sys/"))}  # fmt: skip


def _unique(names: list[str], base: str) -> str:
    name = f"dyst-{base}-{secrets.token_hex(4)}:latest"
    names.append(name)
    return name


def _whiteout_layer(store: Store) -> Layer:
    """A second layer that deletes /etc/greeting and adds /etc/new (a real whiteout)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in (("etc/.wh.greeting", b""), ("etc/new", b"layer two\n")):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    tar_bytes = buffer.getvalue()
    with store.layer_writer(media.OCI_LAYER_GZIP) as writer:
        writer.stream.write(gzip.compress(tar_bytes))
        return writer.commit(Digest.of_bytes(tar_bytes), len(tar_bytes))


def test_saved_image_runs_in_docker(
    root: Path, busybox_image: str, tmp_path: Path, docker_names: list[str]
) -> None:
    with Store.open(root) as store:
        base = store.image(busybox_image)
        second = _whiteout_layer(store)
        config = ImageConfig(
            config=ContainerConfig(
                cmd=(
                    "sh",
                    "-c",
                    "cat /etc/new; test -e /etc/greeting || echo greeting gone; echo $GREETING",
                ),
                env=("PATH=/bin", "GREETING=hi there"),
            ),
            history=(*base.config.history, History(created_by="whiteout layer")),
        )
        name = _unique(docker_names, "two-layers")
        image = store.commit_image(config, [*base.layers, second], [name])
        validate_image(store, image)
    archive = tmp_path / "two.tar"
    dockyard("save", "-o", str(archive), name, busybox_image, root=root)
    docker_names.append(busybox_image)
    loaded = docker("load", "-i", str(archive)).decode()
    assert f"Loaded image: {name.removesuffix(':latest')}" in loaded or name in loaded
    output = docker("run", "--rm", "--network", "none", name).decode()
    assert output == "layer two\ngreeting gone\nhi there\n"
    assert docker("run", "--rm", "--network", "none", busybox_image) == b"hello from dockyard\n"
    inspect = json.loads(docker("image", "inspect", name))[0]
    assert inspect["Id"] == str(image.id)
    assert inspect["RootFS"]["Layers"] == [str(d) for d in image.diff_ids]


def test_docker_save_loads_and_flattens_to_the_same_tree(
    root: Path,
    tmp_path: Path,
    busybox_docker_image: str,  # noqa: F811
    docker_names: list[str],
) -> None:
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {busybox_docker_image}\n"
        "RUN rm /etc/group && mkdir -p /data/sub && echo hi > /data/x && ln /data/x /data/hard"
        " && ln -s ../x /data/sub/link && chmod 4755 /data/x && chown 1000:50 /data/sub\n"
        "COPY Dockerfile /data/sub/copied\n"
    )
    name = _unique(docker_names, "built")
    docker("build", "--network", "host", "-q", "-t", name, str(context))
    saved = tmp_path / "docker-save.tar"
    docker("save", "-o", str(saved), name)
    dockyard("load", "-i", str(saved), root=root)
    dockyard("load", root=root, input=gzip.compress(saved.read_bytes(), compresslevel=1))
    container = docker("create", name, "sh").decode().strip()
    try:
        exported = docker("export", container)
    finally:
        docker("rm", container)
    expected = _without_runtime_paths(tree_of_tar(exported))
    with Store.open(root) as store:
        image = store.image(name)
        validate_image(store, image)
        assert str(image.id) == json.loads(docker("image", "inspect", name))[0]["Id"]
        flat = tmp_path / "flat"
        flat.mkdir()
        flatten(store, image.diff_ids, flat)
    actual = _without_runtime_paths(tree_of_dir(flat))
    assert "etc/group" not in actual and actual["data/hard"] == actual["data/x"]
    assert actual == expected


def test_skopeo_and_umoci_read_the_store(
    root: Path, busybox_image: str, busybox_dir: Path, tmp_path: Path
) -> None:
    with Store.open(root) as store:
        image = store.image(busybox_image)
        validate_image(store, image)
    ref = f"oci:{root}:docker.io/library/{busybox_image}"
    inspected = json.loads(subprocess.run(["skopeo", "inspect", ref], capture_output=True,
                                          check=True).stdout)  # fmt: skip
    assert inspected["Digest"] == str(image.manifest_digest)
    assert inspected["Layers"] == [str(layer.digest) for layer in image.layers]
    copied = tmp_path / "copied.tar"
    subprocess.run(["skopeo", "copy", ref, f"oci-archive:{copied}"], capture_output=True,
                   check=True)  # fmt: skip
    other = tmp_path / "other"
    dockyard("load", "-i", str(copied), root=other)
    with Store.open(other) as store:
        [loaded] = store.images()
        assert loaded.manifest_digest == image.manifest_digest
        validate_image(store, loaded)
    bundle = tmp_path / "bundle"
    result = subprocess.run(
        ["umoci", "unpack", "--image", f"{root}:docker.io/library/{busybox_image}",
         str(bundle)], capture_output=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert tree_of_dir(bundle / "rootfs") == tree_of_dir(busybox_dir)
    config = json.loads((bundle / "config.json").read_text())
    assert config["process"]["args"] == ["cat", "/etc/greeting"]
    with Store.open(root) as store:
        assert store.check().clean


def test_load_of_a_skopeo_copy_whose_plain_layers_are_labelled_gzip(
    root: Path, busybox_image: str, busybox_dir: Path, tmp_path: Path
) -> None:
    saved = tmp_path / "saved.tar"
    dockyard("save", "-o", str(saved), busybox_image, root=root)
    layout = tmp_path / "layout"
    copied = tmp_path / "copied.tar"
    for source, destination, options in (
        (f"docker-archive:{saved}", f"dir:{layout}", ["--dest-decompress"]),
        (f"dir:{layout}", f"oci-archive:{copied}:dyst/relabelled:1", ["--preserve-digests"]),
    ):
        subprocess.run(["skopeo", "copy", "-q", *options, source, destination],
                       capture_output=True, check=True)  # fmt: skip
    # What skopeo made: the uncompressed tars (digest = diff_id) under a gzip media type.
    with Store.open(root) as store:
        diff_ids = store.image(busybox_image).diff_ids
    layers = json.loads((layout / "manifest.json").read_text())["layers"]
    assert [(layer["mediaType"], Digest(layer["digest"])) for layer in layers] == [
        (media.DOCKER_LAYER_GZIP, diff_id) for diff_id in diff_ids
    ]
    other = tmp_path / "other"
    dockyard("load", "-i", str(copied), root=other)
    dockyard("system", "check", root=other)
    with Store.open(other) as store:
        [image] = store.images()
        assert image.layers[0].descriptor.media_type.endswith("gzip")
        validate_image(store, image)
        flat = tmp_path / "flat"
        flat.mkdir()
        flatten(store, image.diff_ids, flat)
        assert tree_of_dir(flat) == tree_of_dir(busybox_dir)


def test_inspect_matches_docker_for_a_loaded_image(
    root: Path, tmp_path: Path, docker_names: list[str]
) -> None:
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(
        'FROM scratch\nCOPY Dockerfile /\nENV A=1 B="two words"\nWORKDIR /srv\nUSER 1000:1000\n'
        "EXPOSE 8080 53/udp\nVOLUME /data\nLABEL org.example=yes\nSTOPSIGNAL SIGINT\n"
        'ENTRYPOINT ["/bin/app"]\nCMD ["--serve"]\n'
    )
    name = _unique(docker_names, "inspect")
    docker("build", "--network", "host", "-q", "-t", name, str(context))
    archive = tmp_path / "saved.tar"
    docker("save", "-o", str(archive), name)
    dockyard("load", "-i", str(archive), root=root)
    theirs = json.loads(docker("image", "inspect", name))[0]
    [ours] = json.loads(dockyard("inspect", name, root=root).stdout)
    for key in ("Id", "RepoTags", "Architecture", "Os", "RootFS", "Created", "Author"):
        assert ours[key] == theirs[key], key
    for key in (
        "User",
        "ExposedPorts",
        "Env",
        "Cmd",
        "Entrypoint",
        "Volumes",
        "WorkingDir",
        "Labels",
        "StopSignal",
        "OnBuild",
    ):
        assert ours["Config"].get(key) == theirs["Config"].get(key), key
