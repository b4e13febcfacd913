"""The image commands as a user types them: images, tag, rmi, inspect, history, system."""

from __future__ import annotations

import json
from pathlib import Path

from dockyard.store import Store

from .helpers import dockyard


def _out(*args: str, root: Path) -> str:
    return dockyard(*args, root=root).stdout.decode()


def test_images_lists_names_like_docker(root: Path, busybox_image: str) -> None:
    dockyard("tag", busybox_image, "localhost:5000/dyst/bb:v2", root=root)
    lines = _out("images", root=root).splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    repos = sorted(tuple(line.split()[:2]) for line in lines[1:])
    assert repos == [("dyst-busybox", "1"), ("localhost:5000/dyst/bb", "v2")]
    ids = _out("images", "-q", root=root).split()
    assert len(ids) == 2 and len(set(ids)) == 1 and len(ids[0]) == 12
    rows = [json.loads(line) for line in _out("images", "--format", "json", root=root).splitlines()]
    assert {row["Repository"] for row in rows} == {"dyst-busybox", "localhost:5000/dyst/bb"}
    assert {"ID", "Tag", "Size", "CreatedAt", "CreatedSince", "Digest"} <= set(rows[0])
    templated = _out("images", "--format", "{{.Repository}}:{{.Tag}}", "dyst-busybox", root=root)
    assert templated == "dyst-busybox:1\n"
    digests = _out("images", "--digests", root=root).splitlines()
    assert digests[0].split()[:3] == ["REPOSITORY", "TAG", "DIGEST"]


def test_inspect_is_docker_shaped(root: Path, busybox_image: str) -> None:
    [obj] = json.loads(_out("inspect", busybox_image, root=root))
    assert obj["RepoTags"] == [busybox_image]
    assert obj["Config"]["Cmd"] == ["cat", "/etc/greeting"]
    assert obj["Architecture"] == "amd64" and obj["Os"] == "linux"
    assert obj["RootFS"]["Type"] == "layers" and len(obj["RootFS"]["Layers"]) == 1
    assert obj["Size"] > 0 and obj["Created"].endswith("Z")
    assert (
        _out("inspect", "-f", "{{.Config.Cmd}} {{json .RepoTags}}", busybox_image, root=root)
        == '[cat /etc/greeting] ["dyst-busybox:1"]\n'
    )
    missing = dockyard("inspect", "dyst-nothing", root=root, check=False)
    assert missing.returncode == 1 and b"no such object: dyst-nothing" in missing.stderr
    assert json.loads(missing.stdout) == []


def test_history_shows_the_import(root: Path, busybox_image: str) -> None:
    lines = _out("history", busybox_image, root=root).splitlines()
    assert lines[0].split()[:2] == ["IMAGE", "CREATED"]
    assert "Imported from" in lines[1]
    full_id = json.loads(_out("inspect", busybox_image, root=root))[0]["Id"]
    assert _out("history", "-q", "--no-trunc", busybox_image, root=root).strip() == full_id


def test_rmi_and_tag_errors_are_clean(root: Path, busybox_image: str) -> None:
    bad = dockyard("tag", busybox_image, "Bad/Name", root=root, check=False)
    assert bad.returncode == 1
    assert b"error: invalid reference format: repository name must be lowercase" in bad.stderr
    missing = dockyard("rmi", "dyst-nothing", root=root, check=False)
    assert missing.returncode == 1 and b"error: no such image: dyst-nothing" in missing.stderr
    with Store.open(root) as store:
        store.set_lease("container/0123abcd", images=[store.image(busybox_image).id])
    used = dockyard("rmi", busybox_image, root=root, check=False)
    assert used.returncode == 1 and b"container/0123abcd" in used.stderr
    assert _out("rmi", "-f", busybox_image, root=root) == f"Untagged: {busybox_image}\n"
    with Store.open(root) as store:
        store.delete_lease("container/0123abcd")
    pruned = _out("image", "prune", "-f", root=root)
    assert pruned.startswith("Deleted Images:\ndeleted: sha256:")
    assert _out("images", "-q", root=root) == ""


def test_system_check_df_and_prune(root: Path, busybox_image: str) -> None:
    assert _out("system", "check", root=root).endswith("store is clean\n")
    df = _out("system", "df", root=root)
    assert df.splitlines()[1].split()[:2] == ["Images", "1"]
    dockyard("rmi", busybox_image, root=root)
    assert "Total reclaimed space: 0B" in _out("system", "prune", "-f", root=root)
    with Store.open(root) as store:
        blob = next(iter(store.blobs.digests()), None)
        assert blob is None
        store.write_blob(b"orphan", "application/octet-stream")
        image_blob = store.write_blob(b"x", "application/octet-stream")
    corrupt = root / "blobs" / "sha256" / image_blob.digest.hex
    corrupt.write_bytes(b"y")
    check = dockyard("system", "check", root=root, check=False)
    assert check.returncode == 1
    assert f"blob {image_blob.digest} is corrupt".encode() in check.stdout
    assert "Total reclaimed space: 7B" in _out("system", "prune", "-f", root=root)
    assert _out("system", "check", root=root).endswith("store is clean\n")


def test_images_filters_and_rmi_continues_past_errors(root: Path, busybox_image: str) -> None:
    dockyard("tag", busybox_image, "dyst/other:2", root=root)
    assert (
        _out("images", "-f", "reference=dyst/*", "--format", "{{.Repository}}:{{.Tag}}", root=root)
        == "dyst/other:2\n"
    )
    assert _out("images", "-f", "dangling=true", "-q", root=root) == ""
    result = dockyard("rmi", "dyst-nothing", "dyst/other:2", root=root, check=False)
    assert result.returncode == 1
    assert result.stdout.decode() == "Untagged: dyst/other:2\n"
    assert b"no such image: dyst-nothing" in result.stderr
    bad = dockyard("images", "-f", "color=blue", root=root, check=False)
    assert bad.returncode == 2 and b"invalid filter" in bad.stderr
