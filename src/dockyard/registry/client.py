"""Pull an image into the store and push one from it (OCI distribution API)."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING

from dockyard.digest import Digest
from dockyard.errors import CorruptBlobError, RegistryError
from dockyard.oci import Descriptor, ImageReference, Index, Manifest, media

if TYPE_CHECKING:
    from dockyard.registry.transport import Transport
    from dockyard.store import Layer, Store, StoredImage

Progress = Callable[[str], None]

MANIFEST_TYPES = (media.OCI_MANIFEST, media.DOCKER_MANIFEST)
INDEX_TYPES = (media.OCI_INDEX, "application/vnd.docker.distribution.manifest.list.v2+json")
ACCEPT = ", ".join((*MANIFEST_TYPES, *INDEX_TYPES))
_CHUNK = 1 << 20


def _quiet(_line: str) -> None:
    pass


def _transport(reference: ImageReference, transport: Transport | None) -> Transport:
    if transport is not None:
        return transport
    from dockyard.registry.transport import Transport

    return Transport(reference.domain)


def _media_type(content_type: str | None, body: bytes) -> str:
    declared = (content_type or "").split(";")[0].strip()
    if declared in (*MANIFEST_TYPES, *INDEX_TYPES):
        return declared
    try:
        inner = json.loads(body).get("mediaType")
    except (ValueError, AttributeError):
        inner = None
    return inner if isinstance(inner, str) and inner else media.OCI_MANIFEST


def _check(digest: Digest, body: bytes, what: str) -> None:
    actual = Digest.of_bytes(body)
    if actual != digest:
        raise RegistryError(
            f"{what}: content has digest {actual}, expected {digest}",
            "the registry served corrupt data; retry or check the registry's storage",
        )


def _get_manifest(transport: Transport, repository: str, ref: str, scope: str) -> tuple[bytes, str]:
    response = transport.request(
        "GET", f"/v2/{repository}/manifests/{ref}", scope, headers={"Accept": ACCEPT}
    )
    body = response.read()
    if ref.startswith("sha256:"):
        _check(Digest(ref), body, f"manifest {repository}@{ref}")
    return body, _media_type(response.getheader("Content-Type"), body)


def _pick_platform(body: bytes, repository: str) -> Descriptor:
    for descriptor in Index.from_json(body).manifests:
        platform = descriptor.platform
        if platform is not None and (platform.os, platform.architecture) == ("linux", "amd64"):
            return descriptor
    raise RegistryError(
        f"{repository}: no linux/amd64 image in the index", "dockyard runs linux/amd64 only"
    )


def _fetch_blob(
    store: Store, transport: Transport, repository: str, descriptor: Descriptor, scope: str
) -> None:
    response = transport.request("GET", f"/v2/{repository}/blobs/{descriptor.digest}", scope)
    with store.ingest(descriptor.digest) as writer:
        try:
            while chunk := response.read(_CHUNK):
                writer.write(chunk)
        except OSError as error:
            raise RegistryError(f"download of {descriptor.digest} failed: {error}") from None
        try:
            writer.commit(descriptor.media_type)
        except CorruptBlobError as error:
            raise RegistryError(
                f"blob {descriptor.digest} of {repository} is corrupt: {error.message}",
                "the registry served corrupt data; nothing was stored",
            ) from None


def _verified_layers(store: Store, manifest: Manifest) -> list[Layer]:
    """The manifest's layers not yet indexed by diff_id, each checked against the config.

    As Docker does on pull, every new blob is decompressed (by content, whatever its
    media type says) and its digest compared with the config's diff_id: the store's
    diff_id index, which unpacking and builds look layers up in, only holds facts.
    """
    from dockyard.oci import ImageConfig
    from dockyard.store import Layer
    from dockyard.store.validate import DiffIdCache, layer_diff_id

    config = ImageConfig.from_json(store.read_blob(manifest.config.digest))
    diff_ids = config.rootfs.diff_ids
    if len(diff_ids) != len(manifest.layers):
        raise RegistryError(
            f"the image has {len(manifest.layers)} layers but {len(diff_ids)} diff_ids"
        )
    cache = DiffIdCache()
    layers = []
    for descriptor, diff_id in zip(manifest.layers, diff_ids, strict=True):
        if any(known.digest == descriptor.digest for known in store.diff_ids.lookup(diff_id)):
            continue  # pulled or loaded before
        actual = layer_diff_id(store, descriptor, cache)
        if actual != diff_id:
            raise RegistryError(
                f"layer {descriptor.digest} has diff_id {actual}, the image config says {diff_id}",
                "the image in the registry is corrupt",
            )
        layers.append(Layer(descriptor, diff_id))
    return layers


def pull(
    store: Store,
    name: str,
    transport: Transport | None = None,
    progress: Progress = _quiet,
) -> StoredImage:
    """Download ``name`` (linux/amd64 from an index), verify every digest, name it."""
    reference = ImageReference.parse(name)
    if reference.digest is None:
        reference = reference.with_default_tag()
    transport = _transport(reference, transport)
    repository, scope = reference.path, f"repository:{reference.path}:pull"
    wanted = str(reference.digest) if reference.digest else str(reference.tag)
    progress(f"{reference.tag or reference.digest}: Pulling from {repository}")
    body, media_type = _get_manifest(transport, repository, wanted, scope)
    if media_type in INDEX_TYPES:
        chosen = _pick_platform(body, repository)
        body, media_type = _get_manifest(transport, repository, str(chosen.digest), scope)
    manifest = Manifest.from_json(body)
    for descriptor in (*manifest.layers, manifest.config):
        if store.has_blob(descriptor.digest):
            progress(f"{descriptor.digest.short}: Already exists")
            continue
        _fetch_blob(store, transport, repository, descriptor, scope)
        if descriptor is not manifest.config:
            progress(f"{descriptor.digest.short}: Pull complete")
    layers = _verified_layers(store, manifest)
    stored = store.write_blob(body, media_type)
    names = [] if reference.digest and reference.digest != stored.digest else [reference]
    image = store.add_manifest(stored, names)
    for layer in layers:
        store.record_layer(layer)
    progress(f"Digest: {stored.digest}")
    progress(f"Status: Downloaded newer image for {reference.familiar()}")
    return image


def _upload_blob(
    store: Store, transport: Transport, repository: str, descriptor: Descriptor, scope: str
) -> bool:
    """Upload one blob unless the registry has it; True when it was uploaded."""
    path = f"/v2/{repository}/blobs/{descriptor.digest}"
    if transport.request("HEAD", path, scope, ok=(200, 404)).status == 200:
        return False
    started = transport.request("POST", f"/v2/{repository}/blobs/uploads/", scope, ok=(202,))
    started.read()
    location = urllib.parse.urljoin(
        transport.url(f"/v2/{repository}/blobs/uploads/"), started.getheader("Location", "")
    )
    separator = "&" if "?" in location else "?"
    target = f"{location}{separator}digest={urllib.parse.quote(str(descriptor.digest))}"
    headers = {
        "Content-Type": "application/octet-stream",
        "Content-Length": str(descriptor.size),
    }
    with store.open_blob(descriptor.digest) as blob:
        transport.request("PUT", target, scope, headers=headers, body=blob, ok=(201,)).read()
    return True


def push(
    store: Store,
    source: str,
    target: str | None = None,
    transport: Transport | None = None,
    progress: Progress = _quiet,
) -> Digest:
    """Upload the image ``source`` as ``target`` (default: its own name); the manifest digest."""
    image = store.image(source)
    reference = ImageReference.parse(target or source)
    if reference.digest is not None:
        raise RegistryError(f"cannot push to a digest reference: {reference}", "push to a tag")
    reference = reference.with_default_tag()
    transport = _transport(reference, transport)
    repository, scope = reference.path, f"repository:{reference.path}:pull,push"
    progress(f"The push refers to repository [{reference.name}]")
    for descriptor in (*image.manifest.layers, image.manifest.config):
        uploaded = _upload_blob(store, transport, repository, descriptor, scope)
        if descriptor is not image.manifest.config:
            status = "Pushed" if uploaded else "Layer already exists"
            progress(f"{descriptor.digest.short}: {status}")
    transport.request(
        "PUT",
        f"/v2/{repository}/manifests/{reference.tag}",
        scope,
        headers={"Content-Type": image.manifest.media_type},
        body=image.manifest_bytes,
        ok=(201,),
    ).read()
    digest = image.manifest_digest
    progress(f"{reference.tag}: digest: {digest} size: {len(image.manifest_bytes)}")
    return digest
