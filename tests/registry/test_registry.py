"""push/pull against the real docker-registry on 127.0.0.1:5000, and failures."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest
from fake_registry import FakeRegistry, digest_of, serve

from conftest import dockyard
from dockyard.archive.layers import flatten
from dockyard.digest import Digest
from dockyard.errors import RegistryError
from dockyard.oci import media
from dockyard.registry import Credentials, Transport, pull
from dockyard.store import Store
from dockyard.store.validate import validate_image

pytestmark = pytest.mark.interop


def test_push_then_pull_gives_the_same_image(busybox_root: Path, repo: str, tmp_path: Path) -> None:
    name = f"{repo}:v1"
    dockyard("tag", "busybox:latest", name, root=busybox_root)
    first = dockyard("push", name, root=busybox_root).stdout
    assert ": Pushed" in first
    again = dockyard("push", name, root=busybox_root).stdout
    assert ": Layer already exists" in again

    target = tmp_path / "pulled"
    output = dockyard("pull", name, root=target).stdout
    with Store.open(busybox_root) as source, Store.open(target) as pulled:
        original, copy = source.image(name), pulled.image(name)
        assert copy.manifest_digest == original.manifest_digest
        assert copy.id == original.id
        assert copy.diff_ids == original.diff_ids
        validate_image(pulled, copy)
    assert f"Digest: {original.manifest_digest}" in output
    assert f"v1: digest: {original.manifest_digest}" in first


def test_push_under_another_name(busybox_root: Path, repo: str, tmp_path: Path) -> None:
    dockyard("push", "busybox:latest", f"{repo}:other", root=busybox_root)
    dockyard("pull", f"{repo}:other", root=tmp_path / "pulled")
    with Store.open(tmp_path / "pulled") as store:
        assert store.image(f"{repo}:other").repo_tags == [f"{repo}:other"]


def test_dead_registry_is_a_clear_error(tmp_path: Path) -> None:
    result = dockyard("pull", "127.0.0.1:1/nothing/here", root=tmp_path / "s", check=False)
    assert result.returncode == 1
    assert "cannot reach registry 127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_repository_is_not_found(registry: str, tmp_path: Path) -> None:
    with Store.open(tmp_path / "s") as store, pytest.raises(RegistryError, match="not found"):
        pull(store, f"{registry}/dockyard-test/never-pushed-{tmp_path.name}:latest")


def _image_served_with(
    layer_served: bytes,
    layer: bytes = b"real layer bytes",
    media_type: str = media.OCI_LAYER,
    diff_id: str | None = None,
) -> FakeRegistry:
    """One image whose manifest lists ``layer`` (as ``media_type``); the registry serves
    ``layer_served`` for it; the config's diff_id is ``diff_id`` or the layer's digest."""
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [diff_id or digest_of(layer)]},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media.OCI_MANIFEST,
            "config": {
                "mediaType": media.OCI_CONFIG,
                "digest": digest_of(config),
                "size": len(config),
            },
            "layers": [{"mediaType": media_type, "digest": digest_of(layer), "size": len(layer)}],
        }
    ).encode()
    return FakeRegistry(
        manifests={"latest": (media.OCI_MANIFEST, manifest)},
        blobs={digest_of(config): config, digest_of(layer): layer_served},
    )


def test_corrupt_blob_is_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    with serve(_image_served_with(b"tampered layer!!")) as fake, Store.open(tmp_path) as store:
        with pytest.raises(RegistryError, match="corrupt") as raised:
            pull(store, f"{fake.address}/test/image:latest")
        assert "expected sha256:" in raised.value.message
        assert store.images() == []
        assert not store.has_blob(Digest(digest_of(b"tampered layer!!")))


def test_bearer_token_with_login_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    served = _image_served_with(b"real layer bytes")
    served.user, served.password = "alice", "secret"
    with serve(served) as fake:
        with (
            Store.open(tmp_path / "s") as store,
            pytest.raises(RegistryError, match="token service answered 401") as raised,
        ):
            pull(store, f"{fake.address}/test/image:latest")
        assert "dockyard login" in str(raised.value.hint)
        login = dockyard("login", "-u", "alice", "-p", "secret", fake.address, root=tmp_path / "s")
        assert "Login Succeeded" in login.stdout
        with Store.open(tmp_path / "s") as store:
            image = pull(store, f"{fake.address}/test/image:latest")
            validate_image(store, image)
    assert any("scope=repository%3Atest%2Fimage%3Apull" in path for path in fake.token_requests)
    saved = json.loads((tmp_path / "docker-config" / "config.json").read_text())
    assert fake.address in saved["auths"]


def test_wrong_password_is_refused(tmp_path: Path) -> None:
    served = FakeRegistry(user="alice", password="secret")
    with serve(served) as fake:
        transport = Transport(fake.address, Credentials("alice", "wrong"))
        with pytest.raises(RegistryError, match="answered 401") as raised:
            transport.request("GET", "/v2/")
        assert "dockyard login" in str(raised.value.hint)


def _with_index(served: FakeRegistry) -> tuple[FakeRegistry, str]:
    """Serve ``latest`` as an index: an arm64 entry first, then the amd64 manifest."""
    media_type, manifest = served.manifests.pop("latest")
    amd64 = digest_of(manifest)
    entries = [
        {"mediaType": media_type, "digest": "sha256:" + "0" * 64, "size": 1,
         "platform": {"os": "linux", "architecture": "arm64"}},
        {"mediaType": media_type, "digest": amd64, "size": len(manifest),
         "platform": {"os": "linux", "architecture": "amd64"}},
    ]  # fmt: skip
    index = json.dumps({"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": entries})
    served.manifests["latest"] = (media.OCI_INDEX, index.encode())
    served.manifests[amd64] = (media_type, manifest)
    return served, amd64


def test_pull_picks_linux_amd64_from_an_index(tmp_path: Path) -> None:
    served, amd64 = _with_index(_image_served_with(b"real layer bytes"))
    with serve(served) as fake, Store.open(tmp_path) as store:
        image = pull(store, f"{fake.address}/test/image:latest")
        assert str(image.manifest_digest) == amd64
        validate_image(store, image)


def test_manifest_not_matching_the_requested_digest_is_refused(tmp_path: Path) -> None:
    served = _image_served_with(b"real layer bytes")
    wrong = "sha256:" + "1" * 64
    served.manifests[wrong] = served.manifests["latest"]
    with serve(served) as fake, Store.open(tmp_path) as store:
        with pytest.raises(RegistryError, match="expected " + wrong):
            pull(store, f"{fake.address}/test/image@{wrong}")
        assert store.images() == []


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_pulled_layers_are_indexed_so_they_unpack_whatever_their_label(tmp_path: Path) -> None:
    # An uncompressed layer labelled gzip, as `skopeo copy --preserve-digests` pushes one.
    tar = _tar({"hello.txt": b"pulled\n"})
    served = _image_served_with(tar, tar, media.OCI_LAYER_GZIP)
    with serve(served) as fake, Store.open(tmp_path / "s") as store:
        image = pull(store, f"{fake.address}/test/image:latest")
        validate_image(store, image)
        assert store.layer_for_diff_id(image.diff_ids[0]) == image.layers[0]
        flat = tmp_path / "flat"
        flat.mkdir()
        flatten(store, image.diff_ids, flat)
        assert (flat / "hello.txt").read_bytes() == b"pulled\n"


def test_a_layer_that_is_not_its_diff_id_is_refused(tmp_path: Path) -> None:
    blob = gzip.compress(_tar({"a": b"what the layer holds"}), mtime=0)
    claimed = digest_of(_tar({"a": b"what the config says"}))
    served = _image_served_with(blob, blob, media.OCI_LAYER_GZIP, diff_id=claimed)
    with serve(served) as fake, Store.open(tmp_path) as store:
        with pytest.raises(RegistryError, match=f"the image config says {claimed}"):
            pull(store, f"{fake.address}/test/image:latest")
        assert store.images() == []
        assert store.layer_for_diff_id(Digest(claimed)) is None
