"""Image config, manifest and index JSON: BuildKit's field names, order and omissions."""

from __future__ import annotations

import json

import pytest

from dockyard.digest import Digest
from dockyard.errors import StoreError
from dockyard.oci import (
    ContainerConfig,
    Descriptor,
    Healthcheck,
    History,
    ImageConfig,
    Index,
    Manifest,
    Platform,
    RootFS,
    canonical,
    media,
    media_type_of,
)

DIFF = Digest("sha256:" + "1" * 64)


def test_minimal_config_omits_empty_fields_but_onbuild() -> None:
    # BuildKit's OnBuild has no omitempty (nor has Docker's engine): unset is null.
    config = ImageConfig(rootfs=RootFS((DIFF,)))
    assert config.to_json() == (
        b'{"architecture":"amd64","config":{"OnBuild":null},"os":"linux",'
        b'"rootfs":{"type":"layers","diff_ids":["sha256:' + b"1" * 64 + b'"]}}'
    )


def test_full_config_uses_docker_field_names_in_go_order() -> None:
    inner = ContainerConfig(
        user="app",
        exposed_ports=("8080/tcp", "53/udp"),
        env=("PATH=/usr/bin", "A=b=c"),
        entrypoint=("/init",),
        cmd=("serve", "--port", "8080"),
        volumes=("/data",),
        working_dir="/srv",
        labels={"z": "1", "a": "2"},
        stop_signal="SIGTERM",
        args_escaped=True,
        healthcheck=Healthcheck(("CMD", "true"), interval=30_000_000_000, retries=3),
        on_build=("RUN echo hi",),
        shell=("/bin/bash", "-c"),
    )
    config = ImageConfig(
        config=inner,
        created="2024-05-01T10:00:00.123456789Z",
        history=(History(created="2024-05-01T10:00:00Z", created_by="RUN x", empty_layer=True),),
        author="me <me@example.com>",
    )
    data = json.loads(config.to_json())
    assert list(data) == ["architecture", "author", "config", "created", "history", "os", "rootfs"]
    assert list(data["config"]) == [
        "User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir", "Labels",
        "StopSignal", "Healthcheck", "ArgsEscaped", "OnBuild", "Shell",
    ]  # fmt: skip
    assert data["config"]["ExposedPorts"] == {"53/udp": {}, "8080/tcp": {}}
    assert data["config"]["Healthcheck"] == {
        "Test": ["CMD", "true"],
        "Interval": 30000000000,
        "Retries": 3,
    }
    assert list(data["config"]["Labels"]) == ["a", "z"]
    assert data["history"] == [
        {"created": "2024-05-01T10:00:00Z", "created_by": "RUN x", "empty_layer": True}
    ]
    assert b"\\u003c" in config.to_json()  # Go escapes < > & in strings
    assert ImageConfig.from_json(config.to_json()) == config
    assert inner.env_dict() == {"PATH": "/usr/bin", "A": "b=c"}


def test_reads_a_docker_engine_config_with_extra_fields() -> None:
    docker = {
        "architecture": "amd64",
        "config": {"Hostname": "", "Env": ["PATH=/bin"], "Cmd": None, "Image": "",
                   "OnBuild": None, "Labels": None, "Entrypoint": ["sh"]},
        "container_config": {"Cmd": ["x"]},
        "docker_version": "20.10.24",
        "created": "2024-01-01T00:00:00Z",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [str(DIFF)]},
    }  # fmt: skip
    config = ImageConfig.from_json(json.dumps(docker).encode())
    assert config.config.cmd is None
    assert config.config.entrypoint == ("sh",)
    assert config.rootfs.diff_ids == (DIFF,)
    # What a build keeps of it: the fields BuildKit knows, in its order.
    assert config.config.to_dict() == {"Env": ["PATH=/bin"], "Entrypoint": ["sh"], "OnBuild": None}


@pytest.mark.parametrize(
    ("document", "on_build"),
    [({}, None), ({"OnBuild": None}, None), ({"OnBuild": []}, ()), ({"OnBuild": ["x"]}, ("x",))],
)
def test_onbuild_unset_is_null_and_empty_stays_empty(
    document: dict[str, object], on_build: tuple[str, ...] | None
) -> None:
    inner = ContainerConfig.from_dict(document)
    assert inner.on_build == on_build
    assert inner.to_dict() == {"OnBuild": None if on_build is None else list(on_build)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<a>&b", b'"\\u003ca\\u003e\\u0026b"'),
        ("line\u2028para\u2029", b'"line\\u2028para\\u2029"'),
        # Go 1.19 (Docker 20.10's BuildKit) has no short escapes for \b and \f.
        ("\b\f\n\t", b'"\\u0008\\u000c\\n\\t"'),
        ("\\b \\f", b'"\\\\b \\\\f"'),
        ("\\\b", b'"\\\\\\u0008"'),
    ],
)
def test_strings_are_escaped_as_go_escapes_them(text: str, expected: bytes) -> None:
    assert canonical.dumps(text) == expected
    assert json.loads(expected) == text


@pytest.mark.parametrize(
    "document",
    [b"[]", b"{", b'{"rootfs":{"diff_ids":["nope"]}}', b'{"config":{"Env":"x"}}'],
)
def test_bad_configs_are_store_errors(document: bytes) -> None:
    with pytest.raises(StoreError):
        ImageConfig.from_json(document)


def test_manifest_and_index_round_trip() -> None:
    config = Descriptor(media.OCI_CONFIG, Digest.of_bytes(b"c"), 1)
    layer = Descriptor(media.OCI_LAYER_GZIP, Digest.of_bytes(b"l"), 1)
    manifest = Manifest(config, (layer,))
    data = manifest.to_json()
    assert list(json.loads(data)) == ["schemaVersion", "mediaType", "config", "layers"]
    assert Manifest.from_json(data) == manifest
    assert media_type_of(data) == media.OCI_MANIFEST
    entry = Descriptor(
        media.OCI_MANIFEST,
        Digest.of_bytes(data),
        len(data),
        {"org.opencontainers.image.ref.name": "x"},
        Platform(),
    )
    index = Index((entry,))
    assert Index.from_json(index.to_json()) == index
    assert json.loads(index.to_json())["manifests"][0]["platform"] == {
        "architecture": "amd64",
        "os": "linux",
    }


def test_manifest_rejects_an_index() -> None:
    with pytest.raises(StoreError, match="not an image manifest"):
        Manifest.from_json(Index().to_json())
