"""``import``: one layer from a tarball (plain or compressed), a stream or a directory."""

from __future__ import annotations

import contextlib
import hashlib
import tarfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, cast

from dockyard.compression import PeekableStream, compression_of_stream, decompressed
from dockyard.digest import Digest
from dockyard.errors import ArchiveError
from dockyard.oci import ContainerConfig, History, ImageConfig, ImageReference, media
from dockyard.store import Layer, Store, StoredImage

from .load import uncompressed_size
from .tarstream import CHUNK


def rfc3339_nano(ns: int) -> str:
    """Go's time.RFC3339Nano in UTC: fractional seconds without trailing zeros."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    if fraction:
        text += "." + f"{fraction:09d}".rstrip("0")
    return text + "Z"


class _HashingReader:
    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.hasher = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.hasher.update(data)
        self.size += len(data)
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


def _verify_tar(stream: BinaryIO, what: str) -> tuple[Digest, int]:
    """Read a whole tar stream: it must parse; returns its digest and size (the diff_id)."""
    reader = _HashingReader(stream)
    try:
        with tarfile.open(fileobj=cast(BinaryIO, reader), mode="r|") as tar:
            for _member in tar:
                pass
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ArchiveError(
            f"{what} is not a tar archive: {error}",
            "import takes a tar file (plain, gzip, xz, bzip2, zstd) or a directory",
        ) from None
    reader.drain()
    return Digest.from_hasher(reader.hasher), reader.size


def _layer_from_stream(store: Store, source: BinaryIO, what: str) -> Layer:
    peekable = PeekableStream(source)
    compression = compression_of_stream(peekable)
    with contextlib.ExitStack() as stack:
        stream = cast(BinaryIO, peekable)
        if compression in ("xz", "bzip2"):  # layers are stored plain, gzip or zstd
            stream, compression = stack.enter_context(decompressed(stream)), ""
        media_type = media.layer_media_type(media.OCI_MANIFEST, compression)
        with store.ingest() as writer:
            writer.copy_from(stream)
            descriptor = writer.commit(media_type)
    with store.open_blob(descriptor.digest) as blob, decompressed(blob) as tar:
        diff_id, size = _verify_tar(tar, what)
    layer = Layer(descriptor, diff_id, size)
    store.record_layer(layer)
    return layer


def _layer_from_directory(store: Store, directory: Path) -> Layer:
    from dockyard.fs import write_layer

    with store.layer_writer(media.OCI_LAYER_GZIP) as sink:
        blob = write_layer(directory, sink.stream, kind="tree", compression="gzip")
        layer = sink.commit(blob.diff_id)
    # The writer reports compressed sizes only; images list the uncompressed size.
    return Layer(layer.descriptor, layer.diff_id, uncompressed_size(store, layer))


def import_image(
    store: Store,
    source: Path | BinaryIO,
    names: Sequence[str | ImageReference] = (),
    config: ContainerConfig | None = None,
    comment: str | None = None,
    message: str = "",
) -> StoredImage:
    """Create a one-layer image, like ``docker import``."""
    if isinstance(source, Path) and source.is_dir():
        layer = _layer_from_directory(store, source)
        origin = str(source)
    elif isinstance(source, Path):
        try:
            with open(source, "rb") as stream:
                layer = _layer_from_stream(store, stream, str(source))
        except OSError as error:
            raise ArchiveError(f"cannot read {source}: {error.strerror}") from None
        origin = "-"
    else:
        layer = _layer_from_stream(store, source, "the input")
        origin = "-"
    created = rfc3339_nano(time.time_ns())
    history = History(created=created, comment=message or comment or f"Imported from {origin}")
    image_config = ImageConfig(
        config=config or ContainerConfig(), created=created, history=(history,)
    )
    return store.commit_image(image_config, [layer], names)
