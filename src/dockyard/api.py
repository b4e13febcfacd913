"""The Python API of dockyard: a thin facade over the packages (the CLI calls these).

Heavy modules are imported inside the functions, so ``import dockyard.api`` stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from dockyard.archive import LoadedImage, SaveItem
    from dockyard.oci import ContainerConfig
    from dockyard.solver.build import BuildResult
    from dockyard.store import CheckReport, DiskUsage, GcReport, Store, StoredImage


# images and the store


def open_store(root: str | Path | None = None) -> Store:
    """The store at ``root`` (default: $DOCKYARD_ROOT, /var/lib/dockyard, XDG data dir)."""
    from dockyard.store import Store

    return Store.open(root)


def images(root: str | Path | None = None) -> list[StoredImage]:
    with open_store(root) as store:
        return store.images()


def image(ref_or_id: str, root: str | Path | None = None) -> StoredImage:
    with open_store(root) as store:
        return store.image(ref_or_id)


def inspect_image(ref_or_id: str, root: str | Path | None = None) -> dict[str, Any]:
    """``docker image inspect`` JSON of one image."""
    from dockyard.store.docker import inspect

    return inspect(image(ref_or_id, root))


def tag(source: str, target: str, root: str | Path | None = None) -> None:
    with open_store(root) as store:
        store.tag(source, target)


def remove_images(
    refs: Sequence[str], force: bool = False, root: str | Path | None = None
) -> list[str]:
    """``docker rmi``: Docker's ``Untagged:``/``Deleted:`` lines."""
    lines: list[str] = []
    with open_store(root) as store:
        for ref in refs:
            lines += store.remove_image(ref, force=force)
    return lines


# archives


def load(source: Path | BinaryIO, root: str | Path | None = None) -> list[LoadedImage]:
    from dockyard.archive import load as load_archive

    with open_store(root) as store:
        return load_archive(store, source)


def save(
    refs: Sequence[str], out: BinaryIO, format: str = "docker", root: str | Path | None = None
) -> list[SaveItem]:
    from dockyard.archive import save as save_archive

    with open_store(root) as store:
        return save_archive(store, refs, out, format)


def import_image(
    source: Path | BinaryIO,
    name: str | None = None,
    changes: Sequence[str] = (),
    message: str = "",
    root: str | Path | None = None,
) -> StoredImage:
    """``docker import``: one layer from a tar (or directory), ``changes`` like --change."""
    from dockyard.archive import import_image as import_archive

    config = apply_changes(changes)
    with open_store(root) as store:
        return import_archive(store, source, [name] if name else [], config, message=message)


def apply_changes(changes: Sequence[str], config: ContainerConfig | None = None) -> ContainerConfig:
    """Apply Dockerfile instructions (``--change``) to a container config."""
    from dockyard.archive.changes import apply_changes as apply

    return apply(changes, config)


# system


def check(root: str | Path | None = None) -> CheckReport:
    with open_store(root) as store:
        return store.check()


def disk_usage(root: str | Path | None = None) -> DiskUsage:
    with open_store(root) as store:
        return store.df()


def prune(
    all_unused: bool = False,
    root: str | Path | None = None,
    on_wait: Callable[[], None] | None = None,
) -> tuple[list[str], GcReport]:
    """Remove what killed builds left, dangling (or all unused) images, then every blob
    and unpacked layer no name or lease reaches, and the build records that named them
    (solver/fastpath.py). ``on_wait`` is called when other
    dockyard commands hold the store and collection has to wait for them."""
    from dockyard.solver.workarea import cleanup_stale

    with open_store(root) as store:
        cleanup_stale(store.root)
        removed = [str(d) for d in store.prune_images(all_unused)]
        store.close()  # gc waits for every holder, including ourselves
        report = store.gc(blocking=False)
        if report.skipped:
            if on_wait is not None:
                on_wait()
            report = store.gc()
        from dockyard.solver import fastpath

        fastpath.prune(str(store.root))  # build records whose images the gc took
        return removed, report


# bootstrap


def bootstrap(
    name: str,
    *,
    suite: str = "bookworm",
    include: Sequence[str] = (),
    ca_certificates: Path | None = None,
    mirror: str | None = None,
    refresh: bool = False,
    progress: Callable[[str], None] | None = None,
    root: str | Path | None = None,
) -> StoredImage:
    """``dockyard bootstrap``: a Debian base image from debootstrap (see solver/bootstrap.py)."""
    from dockyard.solver.bootstrap import BootstrapOptions
    from dockyard.solver.bootstrap import bootstrap as run_bootstrap

    options = BootstrapOptions(name, suite, tuple(include), ca_certificates, mirror, refresh)
    with open_store(root) as store:
        return run_bootstrap(store, options, progress)


# containers


def inspect_container(name_or_id: str) -> dict[str, Any]:
    """``docker container inspect`` JSON of one container (ContainerNotFoundError if unknown)."""
    from dockyard.runtime.inspect import inspect_container as inspect

    return inspect(name_or_id)


# building


def build(
    dockerfile: bytes | str,
    context_dir: Path | str | None,
    *,
    tags: Sequence[str] = (),
    dockerfile_path: Path | None = None,
    dockerfile_name: str = "Dockerfile",
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
    labels: Mapping[str, str] | None = None,
    no_cache: bool = False,
    pull: bool = False,
    network: str = "default",
    secrets: Mapping[str, Path] | None = None,
    source_date_epoch: int | None = None,
    progress: str = "plain",
    store_root: Path | None = None,
) -> BuildResult:
    """Build a Dockerfile into an image in the store; returns its id and names.

    ``progress`` is ``plain`` (BuildKit's plain output on stderr), ``rawjson`` or
    ``quiet``. Raises ``DockerfileError`` for a bad Dockerfile and ``BuildError``
    when a step fails (the store is left as it was, but for cached steps).
    """
    from dockyard.solver.build import BuildRequest, default_workers, run_build
    from dockyard.solver.progress import Progress

    text = dockerfile.encode() if isinstance(dockerfile, str) else dockerfile
    request = BuildRequest(
        dockerfile=text,
        context_dir=Path(context_dir) if context_dir is not None else None,
        dockerfile_path=dockerfile_path,
        dockerfile_name=dockerfile_name,
        tags=tuple(tags),
        build_args=dict(build_args or {}),
        target=target,
        labels=dict(labels or {}),
        no_cache=no_cache,
        pull=pull,
        network=network,
        secrets=dict(secrets or {}),
        source_date_epoch=source_date_epoch,
        store_root=store_root,
        workers=default_workers(),
    )
    if progress == "tty":
        from dockyard.solver.progress_tty import TtyProgress

        reporter: Progress = TtyProgress()
    else:
        reporter = Progress(progress)
    try:
        return run_build(request, reporter)
    finally:
        reporter.finish()


# registries


def pull(
    name: str, root: str | Path | None = None, progress: Callable[[str], None] | None = None
) -> StoredImage:
    """Download ``name`` from its registry into the store (``docker pull``)."""
    from dockyard.registry import pull as pull_image

    with open_store(root) as store:
        return pull_image(store, name, progress=progress or (lambda _line: None))


def push(
    name: str,
    target: str | None = None,
    root: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> str:
    """Upload the image ``name`` to the registry of ``target`` (default: ``name``)."""
    from dockyard.registry import push as push_image

    with open_store(root) as store:
        digest = push_image(store, name, target, progress=progress or (lambda _line: None))
    return str(digest)


def login(server: str, username: str, password: str, root: str | Path | None = None) -> Path:
    """Check the credentials against ``server``'s /v2/ and store them (``docker login``)."""
    from dockyard.registry import Credentials, Transport, save_credentials

    credentials = Credentials(username, password)
    Transport(server, credentials).request("GET", "/v2/").read()
    return save_credentials(server, credentials, Path(root) if root else None)
