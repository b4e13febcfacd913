"""The content store: blobs, names, Docker's rmi rules, layers, leases, check and gc."""

from __future__ import annotations

import io
import json
import os
import random
from pathlib import Path

import pytest

from dockyard.digest import Digest
from dockyard.errors import CorruptBlobError, ImageNotFoundError, StoreError
from dockyard.oci import History, ImageConfig, media
from dockyard.store import Store, validate_image
from dockyard.store.blobs import CHUNK

from .helpers import add_layer, layer_tar, make_image, tar_unpacker


def test_open_creates_an_oci_layout(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    Store.open(root).close()
    assert json.loads((root / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    assert json.loads((root / "index.json").read_text())["manifests"] == []
    assert (root / "blobs" / "sha256").is_dir()


def test_root_comes_from_the_environment(store_root: Path) -> None:
    with Store.open() as store:
        assert store.root == store_root


def test_blob_write_checks_the_expected_digest(store: Store) -> None:
    with store.ingest(expected=Digest.of_bytes(b"right")) as writer:
        writer.write(b"wrong")
        with pytest.raises(CorruptBlobError):
            writer.commit("application/octet-stream")
    assert not store.has_blob(Digest.of_bytes(b"wrong"))
    assert store.blobs.ingest_leftovers() == []
    descriptor = store.write_blob(b"right", "application/octet-stream")
    assert store.read_blob(descriptor.digest) == b"right"


def test_uncommitted_writer_leaves_nothing(store: Store) -> None:
    with store.ingest() as writer:
        writer.write(b"half")
    assert store.blobs.ingest_leftovers() == []
    assert list(store.blobs.digests()) == []


def test_copy_range_reads_in_place_past_the_write_behind_threshold(
    store: Store, tmp_path: Path
) -> None:
    data = random.Random(3).randbytes(9 << 20) + b"not a whole chunk"
    source = tmp_path / "source"
    source.write_bytes(b"head" + data + b"rest")
    with open(source, "rb") as file:
        file.seek(2)
        with store.ingest(expected=Digest.of_bytes(data)) as writer:
            writer.copy_range(file.fileno(), 4, len(data))
            descriptor = writer.commit("application/octet-stream")
        assert file.tell() == 2  # pread: the caller's position is untouched
    assert descriptor.size == len(data)
    assert store.blobs.path(descriptor.digest).read_bytes() == data
    assert store.blobs.ingest_leftovers() == []


def test_copy_range_past_the_end_of_the_file_stores_nothing(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "short"
    source.write_bytes(b"x" * 1000)
    with (
        open(source, "rb") as file,
        store.ingest() as writer,
        pytest.raises(StoreError, match="unexpected end of data"),
    ):
        writer.copy_range(file.fileno(), 10, 5000)
    assert store.blobs.ingest_leftovers() == []
    assert list(store.blobs.digests()) == []


class _ReadOnly:
    """A stream with ``read`` but no ``readinto`` (an HTTP response, say)."""

    def __init__(self, data: bytes) -> None:
        self._stream = io.BytesIO(data)

    def read(self, size: int) -> bytes:
        return self._stream.read(min(size, 1000))  # short reads, as a socket gives


def test_copy_from_a_stream_without_readinto(store: Store) -> None:
    data = random.Random(4).randbytes(5 * CHUNK // 2)
    with store.ingest(expected=Digest.of_bytes(data)) as writer:
        writer.copy_from(_ReadOnly(data))  # type: ignore[arg-type]
        descriptor = writer.commit("application/octet-stream")
    assert store.read_blob(descriptor.digest) == data
    with store.ingest() as writer, pytest.raises(StoreError, match="unexpected end of data"):
        writer.copy_from(_ReadOnly(data), len(data) + 1)


class _BrokenHasher:
    def update(self, data: bytes) -> None:
        raise ValueError("the hash failed")


def test_a_failing_hash_is_raised_once_every_buffer_is_back(store: Store) -> None:
    data = bytes(6 * CHUNK)  # more chunks than buffers: a lost buffer would hang the copy
    with store.ingest() as writer:
        writer._hasher = _BrokenHasher()  # type: ignore[assignment]
        with pytest.raises(ValueError, match="the hash failed"):
            writer.copy_from(io.BytesIO(data))
    assert store.blobs.ingest_leftovers() == []


def test_commit_resolves_by_name_id_prefix_and_digest(store: Store) -> None:
    image = make_image(store, ("app:1", "localhost:5000/app"))
    assert image.repo_tags == ["app:1", "localhost:5000/app:latest"]
    for ref in (
        "app:1",
        "docker.io/library/app:1",
        "localhost:5000/app",
        str(image.id),
        image.id.hex,
        image.id.hex[:12],
        f"app@{image.manifest_digest}",
    ):
        assert store.image(ref).id == image.id, ref
    with pytest.raises(ImageNotFoundError):
        store.image("app:2")
    with pytest.raises(StoreError, match="invalid reference format"):
        store.image("Not/Valid:")
    assert image.config.rootfs.diff_ids == image.diff_ids


def test_tag_moves_a_name_and_leaves_a_dangling_image(store: Store) -> None:
    first = make_image(store, ("app",), seed="a")
    second = make_image(store, ("app",), seed="b")
    assert store.image("app").id == second.id
    dangling = store.image(str(first.id))
    assert dangling.names == ()
    store.tag(str(first.id), "app:old")
    assert store.image("app:old").id == first.id
    with pytest.raises(StoreError, match="digest reference"):
        store.tag("app", f"app@{first.manifest_digest}")


def test_rmi_untags_then_deletes(store: Store) -> None:
    image = make_image(store, ("app:1", "app:2"))
    assert store.remove_image("app:1") == ["Untagged: app:1"]
    assert store.image("app:2").id == image.id
    assert store.remove_image("app:2") == ["Untagged: app:2", f"Deleted: {image.id}"]
    with pytest.raises(ImageNotFoundError):
        store.image(str(image.id))
    assert list(store.blobs.digests()) == []  # collected right away


def test_rmi_by_id_with_several_repositories_needs_force(store: Store) -> None:
    image = make_image(store, ("one", "two"))
    with pytest.raises(StoreError, match="referenced in multiple repositories"):
        store.remove_image(image.id.hex[:12])
    lines = store.remove_image(image.id.hex[:12], force=True)
    assert lines[-1] == f"Deleted: {image.id}"


def test_rmi_refuses_an_image_a_container_uses(store: Store) -> None:
    image = make_image(store, ("app",))
    store.set_lease("container/abc", images=[image.id])
    assert store.image_users(image.id) == ["container/abc"]
    with pytest.raises(StoreError, match="container/abc"):
        store.remove_image("app")
    assert store.remove_image("app", force=True) == ["Untagged: app:latest"]
    kept = store.image(str(image.id))  # untagged, not deleted: the container needs it
    assert kept.names == ()
    assert store.gc().removed_blobs == ()
    store.delete_lease("container/abc")
    assert store.prune_images() == [image.id]
    assert len(store.gc().removed_blobs) == 4


def test_layer_for_diff_id_and_unpack_once(store: Store) -> None:
    image = make_image(store, layers=1)
    diff_id = image.diff_ids[0]
    assert store.layer_for_diff_id(diff_id) == image.layers[0]
    calls = []

    def counting(stream: object, target: Path) -> None:
        calls.append(target)
        tar_unpacker(stream, target)

    path = store.ensure_unpacked(diff_id, counting)
    assert store.ensure_unpacked(diff_id, counting) == path
    assert len(calls) == 1
    assert (path / "etc" / "file0").read_bytes() == b"x0"
    assert path == store.layers_dir / diff_id.hex[:20] / "diff"
    assert store.unpacked_path(diff_id) == path


def test_failed_unpack_leaves_nothing(store: Store) -> None:
    image = make_image(store, layers=1)

    def broken(stream: object, target: Path) -> None:
        (target / "partial").write_text("x")
        raise StoreError("boom")

    with pytest.raises(StoreError, match="boom"):
        store.ensure_unpacked(image.diff_ids[0], broken)
    assert store.unpacked_path(image.diff_ids[0]) is None
    assert os.listdir(store.layers_dir) == []


@pytest.mark.corrupts_store
def test_check_is_clean_then_finds_corruption(store: Store) -> None:
    image = make_image(store, ("app",))
    store.ensure_unpacked(image.diff_ids[1], tar_unpacker)
    report = store.check()
    assert report.clean, report.problems
    assert report.blobs_checked == 4 and report.images_checked == 1 and report.layers_checked == 1

    unpacked = store.unpacked_path(image.diff_ids[1])
    assert unpacked is not None
    (unpacked / "etc" / "file1").write_bytes(b"tampered")
    layer_blob = store.blob_path(image.layers[0].digest)
    layer_blob.chmod(0o644)
    data = bytearray(layer_blob.read_bytes())
    data[-1] ^= 1
    layer_blob.write_bytes(bytes(data))
    problems = "\n".join(store.check().problems)
    assert "modified since unpacking" in problems
    assert f"blob {image.layers[0].digest} is corrupt" in problems
    with pytest.raises(StoreError, match="is invalid"):
        validate_image(store, store.image("app"))


def test_check_ignores_and_gc_removes_leftovers(store: Store) -> None:
    make_image(store, ("app",))
    (store.blobs.ingest_dir / "123-abc").write_bytes(b"partial blob")
    (store.layers_dir / ".tmp-0123-1-aa").mkdir(parents=True)
    (store.root / ".tmp-index.json-1-aa").write_bytes(b"{")
    report = store.check()
    assert report.clean
    assert len(report.leftovers) == 3
    assert store.gc().removed_leftovers == 3
    assert store.check().leftovers == ()


def test_gc_keeps_leased_blobs_and_drops_the_rest(store: Store) -> None:
    image = make_image(store, ("app",))
    orphan = add_layer(store, {"orphan": b"1"})
    kept = add_layer(store, {"kept": b"1"})
    store.set_lease("build-cache/1", diff_ids=[kept.diff_id])
    store.ensure_unpacked(orphan.diff_id, tar_unpacker)
    report = store.gc()
    assert report.removed_blobs == (orphan.digest,)
    assert report.removed_layers == (orphan.diff_id.hex[:20],)
    assert store.layer_for_diff_id(orphan.diff_id) is None
    assert store.layer_for_diff_id(kept.diff_id) == kept
    validate_image(store, store.image("app"))
    assert image.id == store.image("app").id


def test_commit_raw_keeps_config_bytes_and_docker_media_types(store: Store) -> None:
    layer = add_layer(store, {"a": b"1"}, compress=False)
    config = ImageConfig().with_diff_ids((layer.diff_id,))
    raw = config.to_json().replace(b"{", b"{ ", 1)
    image = store.commit_raw(raw, [layer], ["raw"], manifest_media_type=media.DOCKER_MANIFEST)
    assert image.config_bytes == raw and image.id == Digest.of_bytes(raw)
    assert image.manifest.layers[0].media_type == media.DOCKER_LAYER
    validate_image(store, image)
    with pytest.raises(StoreError, match="diff_ids do not match"):
        store.commit_raw(ImageConfig().to_json(), [layer])


def test_df_counts_images_and_reclaimable(store: Store) -> None:
    image = make_image(store, ("app",))
    add_layer(store, {"orphan": b"1"})
    usage = store.df()
    assert usage.images == 1 and usage.images_size == image.size
    assert usage.blobs == 5 and usage.reclaimable_blobs_size > 0


def test_layers_are_read_by_content_not_by_media_type(store: Store) -> None:
    # What skopeo makes of an uncompressed layer: the plain tar under a +gzip label.
    tar = layer_tar({"etc/": None, "etc/motd": b"plain under a gzip label\n"})
    with store.layer_writer(media.OCI_LAYER_GZIP) as writer:
        writer.stream.write(tar)
        layer = writer.commit(Digest.of_bytes(tar))
    image = store.commit_image(ImageConfig(history=(History(created_by="x"),)), [layer], ["mis"])
    assert image.manifest.layers[0].media_type == media.OCI_LAYER_GZIP
    validate_image(store, image)
    assert store.check().clean
    assert store.blob_compression(layer.digest) == ""
    with store.open_layer(layer) as stream:
        assert stream.read() == tar
    unpacked = store.ensure_unpacked(layer.diff_id, tar_unpacker)
    assert (unpacked / "etc" / "motd").read_bytes() == b"plain under a gzip label\n"
