"""import, load and save without Docker: formats, names, corruption, --change."""

from __future__ import annotations

import gzip
import io
import json
import lzma
import tarfile
from pathlib import Path

import pytest

from dockyard.archive import import_image, load, save
from dockyard.archive.changes import apply_changes
from dockyard.archive.layers import flatten
from dockyard.archive.tarstream import open_tar
from dockyard.digest import Digest
from dockyard.errors import ArchiveError, UsageError
from dockyard.oci import ContainerConfig, ImageConfig
from dockyard.store import Store, validate_image

from .helpers import dockyard, tar_of_dir, tree_of_dir


def _members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def test_import_directory_flattens_back_to_the_same_tree(
    store: Store, busybox_dir: Path, tmp_path: Path
) -> None:
    image = import_image(store, busybox_dir, ["dyst/bb:1"], ContainerConfig(cmd=("sh",)))
    validate_image(store, image)
    assert image.repo_tags == ["dyst/bb:1"]
    assert image.config.config.cmd == ("sh",)
    assert image.config.history[0].comment == f"Imported from {busybox_dir}"
    assert image.size > (busybox_dir / "bin" / "busybox").stat().st_size
    flat = tmp_path / "flat"
    flat.mkdir()
    flatten(store, image.diff_ids, flat)
    assert tree_of_dir(flat) == tree_of_dir(busybox_dir)


@pytest.mark.parametrize("compression", ["none", "gzip", "xz"])
def test_import_tarball_in_any_compression(
    store: Store, busybox_dir: Path, tmp_path: Path, compression: str
) -> None:
    tar = tar_of_dir(busybox_dir)
    data = {"none": tar, "gzip": gzip.compress(tar), "xz": lzma.compress(tar)}[compression]
    source = tmp_path / "rootfs.tar"
    source.write_bytes(data)
    image = import_image(store, source, ["dyst/imported"])
    validate_image(store, image)
    assert image.diff_ids == (Digest.of_bytes(tar),)
    assert image.config.history[0].comment == "Imported from -"


def test_import_rejects_what_is_not_a_tar(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_bytes(b"just some text, not a tar archive at all" * 50)
    with pytest.raises(ArchiveError, match="not a tar archive"):
        import_image(store, source)
    assert store.images() == []


def test_docker_save_then_load_keeps_id_names_and_content(
    store: Store, busybox_dir: Path, tmp_path: Path
) -> None:
    image = import_image(store, busybox_dir, ["dyst/a:1", "dyst/a:2", "dyst/b"])
    out = io.BytesIO()
    save(store, ["dyst/a"], out)  # a repository without a tag: all of its tags
    members = _members(out.getvalue())
    manifest = json.loads(members["manifest.json"])
    assert manifest[0]["RepoTags"] == ["dyst/a:1", "dyst/a:2"]
    assert json.loads(members["repositories"]) == {
        "dyst/a": {"1": image.diff_ids[0].hex, "2": image.diff_ids[0].hex}
    }
    layer = members[manifest[0]["Layers"][0]]
    assert Digest.of_bytes(layer) == image.diff_ids[0]  # uncompressed, as docker load wants
    assert Digest.of_bytes(members[manifest[0]["Config"]]) == image.id

    with Store.open(tmp_path / "other") as other:
        loaded = load(other, io.BytesIO(out.getvalue()))
        assert [str(n) for n in loaded[0].names] == ["docker.io/dyst/a:1", "docker.io/dyst/a:2"]
        copy = other.image("dyst/a:2")
        assert copy.id == image.id
        validate_image(other, copy)
        assert other.check().clean


def test_oci_save_then_load_keeps_the_manifest_digest(
    store: Store, busybox_dir: Path, tmp_path: Path
) -> None:
    image = import_image(store, busybox_dir, ["dyst/oci:1"])
    out = io.BytesIO()
    save(store, ["dyst/oci:1"], out, format="oci")
    members = _members(out.getvalue())
    index = json.loads(members["index.json"])
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == (
        "docker.io/dyst/oci:1"
    )
    assert "manifest.json" not in members
    with Store.open(tmp_path / "other") as other:
        loaded = load(other, io.BytesIO(gzip.compress(out.getvalue())))
        assert loaded[0].image.manifest_digest == image.manifest_digest
        validate_image(other, other.image("dyst/oci:1"))


def _legacy_archive(layer_tar: bytes, config: bytes, tags: list[str]) -> bytes:
    """The layout ``docker save`` wrote before Docker 25: <id>/layer.tar, <id>.json."""
    config_id = Digest.of_bytes(config).hex
    layer_id = "f" * 64
    files = {
        f"{layer_id}/VERSION": b"1.0",
        f"{layer_id}/json": json.dumps({"id": layer_id}).encode(),
        f"{layer_id}/layer.tar": layer_tar,
        f"{config_id}.json": config,
        "manifest.json": json.dumps(
            [{"Config": f"{config_id}.json", "RepoTags": tags, "Layers": [f"{layer_id}/layer.tar"]}]
        ).encode(),
        "repositories": b"{}",
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_load_legacy_layout_plain_and_gzipped(store: Store, busybox_dir: Path) -> None:
    layer = tar_of_dir(busybox_dir)
    config = ImageConfig().with_diff_ids((Digest.of_bytes(layer),)).to_json()
    archive = _legacy_archive(layer, config, ["dyst/legacy:v1"])
    for data in (archive, gzip.compress(archive)):
        loaded = load(store, io.BytesIO(data))
        assert loaded[0].image.id == Digest.of_bytes(config)
        validate_image(store, store.image("dyst/legacy:v1"))
    assert len(store.images()) == 1


def test_load_refuses_a_layer_that_does_not_match_its_diff_id(
    store: Store, busybox_dir: Path
) -> None:
    layer = tar_of_dir(busybox_dir)
    config = ImageConfig().with_diff_ids((Digest.of_bytes(b"other"),)).to_json()
    with pytest.raises(ArchiveError, match="diff_id"):
        load(store, io.BytesIO(_legacy_archive(layer, config, ["dyst/bad"])))
    assert store.images() == []
    assert store.check().clean


def test_load_refuses_truncated_and_foreign_input(store: Store, busybox_dir: Path) -> None:
    layer = tar_of_dir(busybox_dir)
    config = ImageConfig().with_diff_ids((Digest.of_bytes(layer),)).to_json()
    archive = _legacy_archive(layer, config, ["dyst/cut"])
    with pytest.raises(ArchiveError):
        load(store, io.BytesIO(archive[: len(archive) // 2]))
    with pytest.raises(ArchiveError, match="neither a docker-archive nor an oci-archive"):
        load(store, io.BytesIO(layer))
    assert store.images() == []
    assert store.check().clean


def test_load_from_a_plain_file_reads_members_in_place(
    store: Store, busybox_dir: Path, tmp_path: Path
) -> None:
    layer = tar_of_dir(busybox_dir)
    config = ImageConfig().with_diff_ids((Digest.of_bytes(layer),)).to_json()
    archive = tmp_path / "legacy.tar"
    archive.write_bytes(_legacy_archive(layer, config, ["dyst/file:1"]))
    with open_tar(archive, "test") as opened:
        assert opened.fd is not None
    loaded = load(store, archive)
    assert loaded[0].image.id == Digest.of_bytes(config)
    validate_image(store, store.image("dyst/file:1"))
    assert store.blob_path(Digest.of_bytes(layer)).read_bytes() == layer

    cut = tmp_path / "cut.tar"
    cut.write_bytes(archive.read_bytes()[: len(archive.read_bytes()) // 2])  # inside the layer
    store.remove_image("dyst/file:1")
    store.gc()
    with pytest.raises(ArchiveError, match="truncated"):
        load(store, cut)
    assert store.images() == []
    assert store.blobs.ingest_leftovers() == []
    assert store.check().clean


def test_compressed_or_streamed_archives_are_not_read_in_place(tmp_path: Path) -> None:
    data = _legacy_archive(b"", b"{}", [])
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(gzip.compress(data))
    for source in (archive, io.BytesIO(data)):
        with open_tar(source, "test") as opened:
            assert opened.fd is None
            assert "manifest.json" in opened.tar.getnames()


def test_changes_follow_the_dockerfile_rules() -> None:
    config = apply_changes([
        'CMD ["nginx", "-g", "daemon off;"]', "ENV A=1 B='two words'", "ENV PATH /usr/bin:/bin",
        "EXPOSE 80 53/udp", 'LABEL "com.example.vendor"="ACME" version=1', "USER app",
        "WORKDIR /srv", "WORKDIR data", 'VOLUME ["/data"]', "VOLUME /logs",
        "STOPSIGNAL SIGQUIT", "ONBUILD RUN echo hi", "ENTRYPOINT /init.sh",
    ])  # fmt: skip
    assert config.cmd == ("nginx", "-g", "daemon off;")  # CMD set here survives ENTRYPOINT
    assert config.entrypoint == ("/bin/sh", "-c", "/init.sh")
    assert config.env == ("A=1", "B=two words", "PATH=/usr/bin:/bin")
    assert config.exposed_ports == ("53/udp", "80/tcp")
    assert dict(config.labels) == {"com.example.vendor": "ACME", "version": "1"}
    assert (config.user, config.working_dir) == ("app", "/srv/data")
    assert config.volumes == ("/data", "/logs")
    assert (config.stop_signal, config.on_build) == ("SIGQUIT", ("RUN echo hi",))
    with pytest.raises(UsageError, match="not a valid change command"):
        apply_changes(["RUN rm -rf /"])
    assert apply_changes(["CMD echo hi"]).cmd == ("/bin/sh", "-c", "echo hi")


def test_cli_import_from_stdin_and_changes(root: Path, busybox_dir: Path) -> None:
    tar = tar_of_dir(busybox_dir)
    result = dockyard("import", "-", "dyst/stdin:1", "--change", "ENV X=1", root=root, input=tar)
    image_id = result.stdout.decode().strip()
    assert Digest.is_valid(image_id)
    inspect = json.loads(dockyard("inspect", "dyst/stdin:1", root=root).stdout)
    assert inspect[0]["Id"] == image_id
    assert inspect[0]["Config"]["Env"] == ["X=1"]
    assert inspect[0]["RootFS"]["Layers"] == [str(Digest.of_bytes(tar))]


def test_cli_save_refuses_a_terminal_and_load_reports_names(
    root: Path, busybox_image: str, tmp_path: Path
) -> None:
    archive = tmp_path / "out.tar"
    dockyard("save", "-o", str(archive), busybox_image, root=root)
    assert not list(tmp_path.glob(".out.tar.partial-*"))
    other = tmp_path / "other"
    result = dockyard("load", "-i", str(archive), root=other)
    assert result.stdout.decode() == f"Loaded image: {busybox_image}\n"
    result = dockyard("load", root=other, input=archive.read_bytes())
    assert result.stdout.decode() == f"Loaded image: {busybox_image}\n"
    bad = dockyard("load", "-i", str(tmp_path / "missing.tar"), root=other, check=False)
    assert bad.returncode == 1 and b"error: cannot open" in bad.stderr


def test_ensure_unpacked_gives_an_overlay_lowerdir_once(store: Store, busybox_dir: Path) -> None:
    import os
    import stat

    from dockyard.archive.layers import ensure_unpacked

    base = import_image(store, busybox_dir, ["dyst/base"])
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.addfile(tarfile.TarInfo("etc/.wh.greeting"))
    layer_tar = buffer.getvalue()
    with store.layer_writer("application/vnd.oci.image.layer.v1.tar") as writer:
        writer.stream.write(layer_tar)
        layer = writer.commit(Digest.of_bytes(layer_tar))
    lower = ensure_unpacked(store, layer.diff_id)
    whiteout = os.lstat(lower / "etc" / "greeting")
    assert stat.S_ISCHR(whiteout.st_mode) and whiteout.st_rdev == 0
    assert ensure_unpacked(store, layer.diff_id) == lower
    base_lower = ensure_unpacked(store, base.diff_ids[0])
    assert (base_lower / "bin" / "busybox").read_bytes() == (
        busybox_dir / "bin/busybox"
    ).read_bytes()
    assert store.check().clean


class _Pipe(io.RawIOBase):
    """A write-only, non-seekable stream (like stdout into a pipe)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk: bytes) -> int:  # type: ignore[override]
        self.data += chunk
        return len(chunk)


@pytest.mark.parametrize("seekable", [True, False])
def test_save_a_gzip_layer_of_unknown_size(
    store: Store, busybox_dir: Path, tmp_path: Path, seekable: bool
) -> None:
    tar = tar_of_dir(busybox_dir)
    with store.layer_writer() as writer:
        writer.stream.write(gzip.compress(tar))
        layer = writer.commit(Digest.of_bytes(tar))  # size unknown, as fs's writer gives it
    config = ImageConfig().with_diff_ids((layer.diff_id,))
    store.commit_image(config, [layer], ["dyst/unknown"])
    if seekable:
        with open(tmp_path / "out.tar", "wb") as out:
            save(store, ["dyst/unknown"], out)
        data = (tmp_path / "out.tar").read_bytes()
    else:
        pipe = _Pipe()
        save(store, ["dyst/unknown"], pipe)  # type: ignore[arg-type]
        data = bytes(pipe.data)
    members = _members(data)
    assert members[f"blobs/sha256/{layer.diff_id.hex}"] == tar
    assert store.image("dyst/unknown").layers[0].uncompressed_size == len(tar)
    with Store.open(tmp_path / "other") as other:
        load(other, io.BytesIO(data))
        validate_image(other, other.image("dyst/unknown"))
