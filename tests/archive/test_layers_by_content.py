"""A layer's compression is read from its bytes, never from its media type.

skopeo copies an uncompressed layer labelled ``+gzip`` (``copy --dest-decompress`` to
``dir:``, then ``--preserve-digests`` anywhere: see test_interop.py), and Docker pulls
and runs such an image: it sniffs the magic bytes. So must load, unpack, validate,
``system check`` and save here. The reverse label (a gzip blob called plain) is read
the same way.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from dockyard.archive import load, save
from dockyard.archive.layers import ensure_unpacked, flatten
from dockyard.archive.load import uncompressed_size
from dockyard.digest import Digest
from dockyard.errors import ArchiveError
from dockyard.oci import Descriptor, ImageConfig, Index, Manifest, RootFS, media
from dockyard.store import Store, validate_image

from .helpers import dockyard

FILES = {"etc/greeting": b"hello\n", "bin/tool": b"#!/bin/sh\necho tool\n"}


def _layer_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in ("bin/", "etc/"):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, content in FILES.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(content), 0o755
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


TAR = _layer_tar()
CASES = {
    # name: (stored bytes, layer media type, manifest media type)
    "plain-as-oci-gzip": (TAR, media.OCI_LAYER_GZIP, media.OCI_MANIFEST),
    "plain-as-docker-gzip": (TAR, media.DOCKER_LAYER_GZIP, media.DOCKER_MANIFEST),
    "gzip-as-oci-plain": (gzip.compress(TAR, mtime=0), media.OCI_LAYER, media.OCI_MANIFEST),
}


def _oci_archive(blob: bytes, layer_type: str, manifest_type: str, name: str) -> bytes:
    """An oci-archive of one image whose layer is ``blob``, labelled ``layer_type``."""
    config = ImageConfig(rootfs=RootFS((Digest.of_bytes(TAR),))).to_json()
    config_descriptor = Descriptor(
        media.CONFIG_FOR_MANIFEST[manifest_type], Digest.of_bytes(config), len(config)
    )
    layer = Descriptor(layer_type, Digest.of_bytes(blob), len(blob))
    manifest = Manifest(config_descriptor, (layer,), manifest_type).to_json()
    entry = Descriptor(
        manifest_type,
        Digest.of_bytes(manifest),
        len(manifest),
        {media.REF_NAME_ANNOTATION: name},
    )
    files = {
        "oci-layout": b'{"imageLayoutVersion":"1.0.0"}',
        "index.json": Index((entry,)).to_json(),
        **{f"blobs/sha256/{Digest.of_bytes(data).hex}": data for data in (config, manifest, blob)},
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for member, content in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _files_under(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_mislabelled_layer_loads_unpacks_validates_and_saves(
    store: Store, tmp_path: Path, case: str
) -> None:
    blob, layer_type, manifest_type = CASES[case]
    archive = _oci_archive(blob, layer_type, manifest_type, "dyst/mislabelled:1")
    [loaded] = load(store, io.BytesIO(archive))
    image = loaded.image
    stored = image.layers[0].descriptor
    assert (stored.media_type, stored.digest) == (layer_type, Digest.of_bytes(blob))  # as labelled
    validate_image(store, image)
    assert store.check().clean
    assert uncompressed_size(store, image.layers[0]) == len(TAR)

    flat = tmp_path / "flat"
    flat.mkdir()
    flatten(store, image.diff_ids, flat)
    assert _files_under(flat) == FILES
    lowerdir = ensure_unpacked(store, image.diff_ids[0])
    assert _files_under(lowerdir) == FILES

    for format in ("docker", "oci"):  # docker: plain layers by diff_id; oci: blobs as they are
        saved = io.BytesIO()
        save(store, ["dyst/mislabelled:1"], saved, format=format)
        if format == "docker":
            with tarfile.open(fileobj=io.BytesIO(saved.getvalue())) as tar:
                layer_blob = tar.extractfile(f"blobs/sha256/{image.diff_ids[0].hex}")
                assert layer_blob is not None and layer_blob.read() == TAR
        with Store.open(tmp_path / f"other-{format}") as other:
            [again] = load(other, io.BytesIO(saved.getvalue()))
            validate_image(other, again.image)


def test_system_check_accepts_a_mislabelled_layer(root: Path, tmp_path: Path) -> None:
    blob, layer_type, manifest_type = CASES["plain-as-oci-gzip"]
    path = tmp_path / "image.tar"
    path.write_bytes(_oci_archive(blob, layer_type, manifest_type, "dyst/mislabelled:2"))
    dockyard("load", "-i", str(path), root=root)
    result = dockyard("system", "check", root=root)
    assert b"problem" not in result.stdout + result.stderr


def test_a_layer_that_is_not_what_it_claims_in_any_way_is_still_refused(
    store: Store,
) -> None:
    # Content detection is not leniency: the bytes must still give the diff_id.
    garbage = gzip.compress(b"not a tar" * 1000, mtime=0)
    archive = _oci_archive(garbage, media.OCI_LAYER, media.OCI_MANIFEST, "dyst/bad:1")
    with pytest.raises(ArchiveError, match="diff_id"):
        load(store, io.BytesIO(archive))
    assert store.images() == []
