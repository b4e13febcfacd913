"""The reference flattener and the diff on layers built in the test (no Docker needed)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from .compare import diff_descriptions, failed_checks, failed_config_checks
from .flatten import Entry, apply_layer, describe_archive, describe_tree, normalise

Spec = tuple[str, str, dict[str, Any]]  # (name, kind, attributes)


def _tar(entries: list[Spec]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, attributes in entries:
            info = tarfile.TarInfo(name)
            info.mode = attributes.get("mode", 0o755 if kind == "dir" else 0o644)
            info.uid = attributes.get("uid", 0)
            info.gid = attributes.get("gid", 0)
            content = attributes.get("content", b"")
            if kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, attributes["target"]
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, attributes["target"]
            elif kind == "file":
                info.size = len(content)
            if "xattrs" in attributes:
                info.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in attributes["xattrs"].items()}
            tar.addfile(info, io.BytesIO(content) if kind == "file" else None)
    return buffer.getvalue()


def _entries(specs: list[Spec]) -> list[Entry]:
    from .flatten import _read_layer

    return _read_layer(io.BytesIO(_tar(specs)))


def _flatten(*layers: list[Spec]) -> dict[str, dict[str, Any]]:
    tree: dict[str, Any] = {}
    for layer in layers:
        apply_layer(tree, _entries(layer))
    return describe_tree(tree)


def _sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


BASE: list[Spec] = [
    ("./", "dir", {}),
    ("./etc/", "dir", {}),
    ("./etc/passwd", "file", {"content": b"root\n"}),
    ("./data/", "dir", {"mode": 0o700, "uid": 5}),
    ("./data/a", "file", {"content": b"a"}),
    ("./data/sub/", "dir", {}),
    ("./data/sub/b", "file", {"content": b"b"}),
    ("./link", "symlink", {"target": "/etc/passwd"}),
]


def test_normalise_names() -> None:
    assert [normalise(n) for n in ("./a/b/", "/a//b", "a/./b/../c", ".", "./")] == [
        "a/b",
        "a/b",
        "a/c",
        "",
        "",
    ]


def test_files_describe_type_mode_owner_content_and_links() -> None:
    files = _flatten(BASE)
    assert files["etc/passwd"] == {
        "type": "file",
        "mode": "0644",
        "uid": 0,
        "gid": 0,
        "size": 5,
        "sha256": _sha(b"root\n"),
    }
    assert files["data"] == {"type": "dir", "mode": "0700", "uid": 5, "gid": 0}
    assert files["link"]["target"] == "/etc/passwd"
    assert "" not in files


def test_whiteout_removes_file_and_subtree_of_lower_layers_only() -> None:
    files = _flatten(
        BASE,
        [
            ("data/.wh.sub", "file", {}),
            ("data/sub/", "dir", {}),  # recreated in the same layer: stays
            ("data/sub/new", "file", {"content": b"n"}),
            ("etc/.wh.passwd", "file", {}),
        ],
    )
    assert "etc/passwd" not in files
    assert "data/sub/b" not in files
    assert files["data/sub/new"]["sha256"] == _sha(b"n")
    assert not [path for path in files if ".wh." in path]


def test_opaque_directory_hides_lower_children_but_keeps_same_layer_ones() -> None:
    files = _flatten(
        BASE,
        [
            ("data/", "dir", {"mode": 0o755}),
            ("data/fresh", "file", {"content": b"f"}),
            ("data/.wh..wh..opq", "file", {}),  # after a same-layer entry, as tar order allows
        ],
    )
    assert sorted(p for p in files if p.startswith("data")) == ["data", "data/fresh"]
    assert files["data"]["mode"] == "0755"


def test_directory_replaced_by_file_drops_children_and_dir_over_dir_keeps_them() -> None:
    files = _flatten(BASE, [("data/sub", "file", {"content": b"now a file"})])
    assert files["data/sub"]["type"] == "file"
    assert "data/sub/b" not in files
    files = _flatten(BASE, [("data/", "dir", {"mode": 0o711, "uid": 7})])
    assert files["data"]["mode"] == "0711" and files["data"]["uid"] == 7
    assert "data/sub/b" in files


def test_hard_links_are_grouped_and_a_later_write_breaks_the_group() -> None:
    layer: list[Spec] = [
        ("x/", "dir", {}),
        ("x/a", "file", {"content": b"same"}),
        ("x/b", "hardlink", {"target": "x/a"}),
        ("x/c", "hardlink", {"target": "./x/a"}),
    ]
    files = _flatten(layer)
    assert {files[p]["hardlink_group"] for p in ("x/a", "x/b", "x/c")} == {"x/a"}
    assert files["x/b"]["sha256"] == _sha(b"same")
    files = _flatten(layer, [("x/a", "file", {"content": b"new"})])
    assert "hardlink_group" not in files["x/a"]
    assert files["x/b"]["hardlink_group"] == "x/b" == files["x/c"]["hardlink_group"]


def test_missing_parents_become_root_0755_directories() -> None:
    files = _flatten([("deep/er/file", "file", {"content": b"z"})])
    assert files["deep"] == {"type": "dir", "mode": "0755", "uid": 0, "gid": 0}
    assert files["deep/er"]["type"] == "dir"


def test_xattrs_are_described() -> None:
    files = _flatten([("bin", "file", {"xattrs": {"security.capability": "cap"}})])
    assert files["bin"]["xattrs"] == {"security.capability": "cap"}


def test_hard_link_to_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="hard link"):
        _flatten([("b", "hardlink", {"target": "missing"})])


IMAGE_CONFIG: dict[str, Any] = {
    "architecture": "amd64",
    "os": "linux",
    "created": "2024-01-01T00:00:00Z",
    "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"], "WorkingDir": "", "Labels": None},
    "history": [
        {"created": "2024-01-01T00:00:00Z", "created_by": "COPY x / # buildkit"},
        {"created_by": "ENV A=1", "empty_layer": True, "comment": "buildkit.dockerfile.v0"},
    ],
}


def _docker_archive(path: Path, layers: list[bytes], gzip_layers: bool = False) -> None:
    import gzip

    with tarfile.open(path, "w") as archive:

        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))

        names = []
        for index, layer in enumerate(layers):
            names.append(f"layer{index}/layer.tar")
            add(names[-1], gzip.compress(layer) if gzip_layers else layer)
        add("config.json", json.dumps(IMAGE_CONFIG).encode())
        add("manifest.json", json.dumps([{"Config": "config.json", "Layers": names}]).encode())


def _oci_archive(path: Path, layers: list[bytes]) -> None:
    blobs: dict[str, bytes] = {}

    def blob(data: bytes) -> dict[str, Any]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"digest": digest, "size": len(data)}

    manifest = {
        "config": blob(json.dumps(IMAGE_CONFIG).encode()),
        "layers": [blob(layer) for layer in layers],
    }
    index = {"manifests": [blob(json.dumps(manifest).encode())]}
    with tarfile.open(path, "w") as archive:
        for name, data in [
            ("index.json", json.dumps(index).encode()),
            ("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'),
            *[(f"blobs/sha256/{d.split(':')[1]}", v) for d, v in blobs.items()],
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_docker_and_oci_archives_describe_the_same(tmp_path: Path) -> None:
    layers = [_tar(BASE), _tar([("data/.wh.a", "file", {}), ("new", "file", {"content": b"1"})])]
    _docker_archive(tmp_path / "docker.tar", layers)
    _docker_archive(tmp_path / "docker-gz.tar", layers, gzip_layers=True)
    _oci_archive(tmp_path / "oci.tar", layers)
    described = [describe_archive(tmp_path / n) for n in ("docker.tar", "docker-gz.tar", "oci.tar")]
    assert described[0] == described[1] == described[2]
    image = described[0]
    assert "data/a" not in image["files"] and "new" in image["files"]
    assert image["layers"][1] == ["data/.wh.a", "new"]
    # Empty config values count as absent; timestamps are not described.
    assert image["config"] == {
        "Env": ["PATH=/bin"],
        "Cmd": ["sh"],
        "architecture": "amd64",
        "os": "linux",
    }
    assert image["history"] == [
        {"created_by": "COPY x / # buildkit", "empty_layer": False},
        {"created_by": "ENV A=1", "empty_layer": True, "comment": "buildkit.dockerfile.v0"},
    ]


def test_not_an_image_archive_is_refused(tmp_path: Path) -> None:
    (tmp_path / "plain.tar").write_bytes(_tar([("file", "file", {"content": b"x"})]))
    with pytest.raises(ValueError, match="not an image archive"):
        describe_archive(tmp_path / "plain.tar")


def _image(files: dict[str, Any], **config: Any) -> dict[str, Any]:
    return {"files": files, "layers": [sorted(files)], "config": config, "history": []}


def test_diff_names_every_difference_readably() -> None:
    docker = _image(_flatten(BASE), User="app")
    dockyard_files = _flatten(BASE, [("data/a", "file", {"mode": 0o600, "content": b"a"})])
    dockyard_files["extra"] = {"type": "file"}
    del dockyard_files["link"]
    lines = diff_descriptions(docker, _image(dockyard_files))
    text = "\n".join(lines)
    assert '/data/a: mode: "0644" != "0600"  (docker != dockyard)' in text
    assert "only in docker:   /link" in text
    assert "only in dockyard: /extra" in text
    assert 'User: docker "app" != dockyard null' in text
    assert "layers:" in text
    assert diff_descriptions(docker, docker) == []
    assert "files:" not in "\n".join(
        diff_descriptions(docker, _image(dockyard_files), skip=["files", "layers"])
    )


def test_case_checks_report_what_does_not_hold() -> None:
    image = _image(_flatten(BASE), User="app")
    assert not failed_checks(
        image,
        [
            {"path": "/etc/passwd", "content": "root\n", "mode": "0644", "uid": 0},
            {"path": "/link", "type": "symlink", "target": "/etc/passwd"},
            {"path": "/nothing", "absent": True},
        ],
    )
    problems = failed_checks(
        image,
        [
            {"path": "/etc/passwd", "content": "other"},
            {"path": "/data", "mode": "0755"},
            {"path": "/etc", "absent": True},
            {"path": "/missing"},
            {"path": "/etc/passwd", "hardlink_to": "/data/a"},
        ],
    )
    assert len(problems) == 5, problems
    assert failed_config_checks(image, {"User": "app"}) == []
    assert failed_config_checks(image, {"User": "root"}) == ['config User: "app", expected "root"']
