"""``dockyard bootstrap``: a Debian base image from debootstrap, for machines without a registry.

The root filesystem comes from ``debootstrap --variant=minbase`` (made once per suite
and mirror), then ``apt-get install`` of ``--include`` packages in a chroot, against
the apt mirror this machine is configured with (``/etc/apt/sources.list.d/*.sources`` and
``/etc/apt/sources.list``; never a hard-coded host). Extra trusted CAs (an
intercepting proxy's) go into the image's trust store and ``NODE_EXTRA_CA_CERTS``.
The finished tree is cached under ``<store>/cache/bootstrap/<key>/`` (the key covers
suite, mirror, packages and CA file), downloaded packages in a machine-wide cache
(:func:`package_cache_dir`), so a second bootstrap only commits. The image is one
layer with a Docker Hub-like config (``Cmd ["bash"]``, the default ``PATH``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import BuildError, UsageError
from dockyard.oci.config import DEFAULT_PATH
from dockyard.solver.workarea import remove_tree
from dockyard.store import Store, StoredImage

EXTRA_CA_PATH = "/usr/local/share/ca-certificates/dockyard-extra.crt"
_PACKAGE_RE = re.compile(r"^[a-z0-9][a-z0-9+.\-]+$")
_SUITE_RE = re.compile(r"^[a-z][a-z0-9\-]*$")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class AptSource:
    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]


def read_apt_sources(etc_apt: Path = Path("/etc/apt")) -> list[AptSource]:
    """The ``deb`` sources configured on this machine (deb822 and one-line formats)."""
    sources: list[AptSource] = []
    directory = etc_apt / "sources.list.d"
    if directory.is_dir():
        for path in sorted(directory.iterdir()):
            if path.suffix == ".sources":
                sources += _parse_deb822(_read(path))
            elif path.suffix == ".list":
                sources += _parse_one_line(_read(path))
    sources += _parse_one_line(_read(etc_apt / "sources.list"))
    return sources


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _parse_deb822(text: str) -> list[AptSource]:
    found = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = ""
        for line in stanza.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line[0] in " \t" and key:
                fields[key] += " " + line.strip()
                continue
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            found.append(
                AptSource(
                    uri,
                    tuple(fields.get("suites", "").split()),
                    tuple(fields.get("components", "").split()),
                )
            )
    return found


def _parse_one_line(text: str) -> list[AptSource]:
    found = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) < 3 or words[0] != "deb":
            continue
        words = [word for word in words[1:] if not word.startswith("[")]
        if len(words) >= 2 and "]" not in words[0]:
            found.append(AptSource(words[0], (words[1],), tuple(words[2:])))
    return found


def find_mirror(suite: str, sources: Sequence[AptSource]) -> str:
    """The machine's Debian archive mirror for ``suite``."""
    for source in sources:
        if suite in source.suites and source.uri.startswith(("http://", "https://", "file:")):
            return source.uri
    for source in sources:
        if "main" in source.components and any(
            not suite_name.endswith(("-security", "-updates", "-backports"))
            for suite_name in source.suites
        ):
            return source.uri
    raise BuildError(
        f"no apt mirror for {suite!r} is configured on this machine",
        "configure one in /etc/apt/sources.list.d/ or pass --mirror URL",
    )


@dataclass(frozen=True)
class BootstrapOptions:
    name: str
    suite: str = "bookworm"
    include: tuple[str, ...] = ()
    ca_certificates: Path | None = None
    mirror: str | None = None
    refresh: bool = False


def _validate(options: BootstrapOptions) -> None:
    if not _SUITE_RE.match(options.suite):
        raise UsageError(f"invalid suite {options.suite!r}", "for example --suite bookworm")
    for package in options.include:
        if not _PACKAGE_RE.match(package):
            raise UsageError(f"invalid package name {package!r} in --include")
    if options.ca_certificates is not None and not options.ca_certificates.is_file():
        raise UsageError(
            f"--ca-certificates {options.ca_certificates}: no such file",
            "pass a PEM file, e.g. $SSL_CERT_FILE",
        )
    if shutil.which("debootstrap") is None:
        raise BuildError("debootstrap is not installed", "install it: apt-get install debootstrap")


def package_cache_dir() -> Path:
    """Where debootstrap keeps downloaded .debs: shared by every store on the machine.

    ``$DOCKYARD_CACHE/debootstrap``, else /var/cache/dockyard/debootstrap for root, else
    ``$XDG_CACHE_HOME/dockyard/debootstrap``.
    """
    configured = os.environ.get("DOCKYARD_CACHE")
    if configured:
        return Path(configured) / "debootstrap"
    if os.geteuid() == 0:
        return Path("/var/cache/dockyard/debootstrap")
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "dockyard" / "debootstrap"


def _cache_key(options: BootstrapOptions, mirror: str, ca_data: bytes | None) -> str:
    parts = {
        "version": 1,
        "suite": options.suite,
        "mirror": mirror,
        "include": sorted(set(options.include)),
        "ca": hashlib.sha256(ca_data).hexdigest() if ca_data is not None else None,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def bootstrap(
    store: Store, options: BootstrapOptions, progress: Progress | None = None
) -> StoredImage:
    """Build (or reuse) the debootstrap tree and commit it as image ``options.name``."""
    say = progress or (lambda _message: None)
    _validate(options)
    mirror = options.mirror or find_mirror(options.suite, read_apt_sources())
    ca_data = options.ca_certificates.read_bytes() if options.ca_certificates else None
    cache = store.root / "cache" / "bootstrap"
    tree_dir = cache / _cache_key(options, mirror, ca_data)
    rootfs = tree_dir / "rootfs"
    if options.refresh and tree_dir.exists():
        remove_tree(tree_dir)
    if not (tree_dir / "complete").exists():
        _build_tree(tree_dir, rootfs, package_cache_dir(), options, mirror, ca_data, say)
    else:
        say(f"using the cached {options.suite} tree ({tree_dir.name})")
    return _commit(store, options, rootfs, mirror, ca_data is not None, say)


def _build_tree(
    tree_dir: Path,
    rootfs: Path,
    debs: Path,
    options: BootstrapOptions,
    mirror: str,
    ca_data: bytes | None,
    say: Progress,
) -> None:
    if tree_dir.exists():
        remove_tree(tree_dir)  # an earlier run stopped half-way (maybe with mounts left)
    base = _base_tree(tree_dir.parent, debs, options.suite, mirror, say)
    tree_dir.mkdir(parents=True)
    _run(["cp", "-a", "--reflink=auto", str(base), str(rootfs)], "copying the base tree")
    if options.include:
        say("installing " + ", ".join(options.include))
        _apt_install(rootfs, options.include, debs / "apt", tree_dir / "apt.log")
    if ca_data is not None:
        say("installing extra CA certificates")
        _install_ca(rootfs, ca_data)
    _tidy(rootfs)
    (tree_dir / "complete").write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))


def _base_tree(cache: Path, debs: Path, suite: str, mirror: str, say: Progress) -> Path:
    """debootstrap's minbase tree of ``suite`` from ``mirror``, made once per store."""
    key = hashlib.sha256(f"{suite}\0{mirror}".encode()).hexdigest()[:24]
    base_dir = cache / f"base-{key}"
    rootfs = base_dir / "rootfs"
    if (base_dir / "complete").exists():
        return rootfs
    if base_dir.exists():
        remove_tree(base_dir)
    base_dir.mkdir(parents=True)
    debs.mkdir(parents=True, exist_ok=True)
    command = [
        "debootstrap",
        "--variant=minbase",
        f"--cache-dir={debs}",
        suite,
        str(rootfs),
        mirror,
    ]
    say("running " + " ".join(command))
    log_path = base_dir / "debootstrap.log"
    with open(log_path, "wb") as log:
        status = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
    if status.returncode != 0:
        tail = log_path.read_text(errors="replace").splitlines()[-15:]
        raise BuildError(
            f"debootstrap failed (exit code {status.returncode}):\n" + "\n".join(tail),
            f"check the mirror {mirror} and the suite; full log: {log_path}",
        )
    (base_dir / "complete").write_text(suite)
    return rootfs


def _run(command: list[str], what: str) -> None:
    status = subprocess.run(command, capture_output=True, check=False)
    if status.returncode != 0:
        raise BuildError(f"{what} failed: {status.stderr.decode(errors='replace')[-500:]}")


def _apt_install(rootfs: Path, packages: Sequence[str], archives: Path, log_path: Path) -> None:
    """``apt-get install`` in a chroot of the tree (more robust than debootstrap --include).

    /proc is mounted for maintainer scripts, downloaded packages go to a machine-wide
    cache (bind-mounted over /var/cache/apt/archives) and no service is started.
    """
    (archives / "partial").mkdir(parents=True, exist_ok=True)
    policy = rootfs / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    os.chmod(policy, 0o755)
    proc, cache = rootfs / "proc", rootfs / "var/cache/apt/archives"
    mounted: list[Path] = []
    script = "apt-get update -q && apt-get install -y -q --no-install-recommends " + " ".join(
        packages
    )
    try:
        _run(["mount", "-t", "proc", "proc", str(proc)], "mounting /proc in the tree")
        mounted.append(proc)
        _run(["mount", "--bind", str(archives), str(cache)], "mounting the package cache")
        mounted.append(cache)
        env = {
            "PATH": DEFAULT_PATH,
            "LC_ALL": "C",
            "DEBIAN_FRONTEND": "noninteractive",
        }
        with open(log_path, "wb") as log:
            status = subprocess.run(
                ["chroot", str(rootfs), "/bin/sh", "-c", script],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if status.returncode != 0:
            tail = log_path.read_text(errors="replace").splitlines()[-15:]
            raise BuildError(
                f"installing {', '.join(packages)} failed (exit code {status.returncode}):\n"
                + "\n".join(tail),
                f"check the package names; full log: {log_path}",
            )
    finally:
        for path in reversed(mounted):
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)
        policy.unlink(missing_ok=True)


def _install_ca(rootfs: Path, ca_data: bytes) -> None:
    """Trust ``ca_data`` in the image: update-ca-certificates if present, else append."""
    target = rootfs / EXTRA_CA_PATH.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(ca_data)
    os.chmod(target, 0o644)
    if (rootfs / "usr/sbin/update-ca-certificates").exists():
        status = subprocess.run(
            ["chroot", str(rootfs), "/usr/sbin/update-ca-certificates"],
            env={"PATH": DEFAULT_PATH, "LC_ALL": "C"},
            capture_output=True,
            check=False,
        )
        if status.returncode != 0:
            raise BuildError(
                "update-ca-certificates failed in the image: "
                + status.stderr.decode(errors="replace")[-500:]
            )
        return
    bundle = rootfs / "etc/ssl/certs/ca-certificates.crt"
    bundle.parent.mkdir(parents=True, exist_ok=True)
    with open(bundle, "ab") as out:
        out.write(ca_data if ca_data.endswith(b"\n") else ca_data + b"\n")


def _tidy(rootfs: Path) -> None:
    """What Docker Hub's debian images leave out: downloaded packages and apt lists."""
    for directory in ("var/cache/apt/archives", "var/lib/apt/lists"):
        path = rootfs / directory
        if not path.is_dir():
            continue
        for entry in path.iterdir():
            if entry.is_file() and entry.name != "lock":
                entry.unlink()


def _commit(
    store: Store,
    options: BootstrapOptions,
    rootfs: Path,
    mirror: str,
    with_ca: bool,
    say: Progress,
) -> StoredImage:
    from dockyard.archive.importer import rfc3339_nano
    from dockyard.archive.load import uncompressed_size
    from dockyard.fs import write_layer
    from dockyard.oci import ContainerConfig, History, ImageConfig, media
    from dockyard.store import Layer

    say("committing the image layer")
    with store.layer_writer(media.OCI_LAYER_GZIP) as sink:
        blob = write_layer(rootfs, sink.stream, kind="tree", compression="gzip")
        layer = sink.commit(blob.diff_id)
    layer = Layer(layer.descriptor, layer.diff_id, uncompressed_size(store, layer))
    env = [f"PATH={DEFAULT_PATH}"]
    if with_ca:
        env.append(f"NODE_EXTRA_CA_CERTS={EXTRA_CA_PATH}")
    created = rfc3339_nano(time.time_ns())
    words = ["dockyard bootstrap", f"--suite {options.suite}"]
    if options.include:
        words.append("--include " + ",".join(options.include))
    history = History(created=created, created_by=" ".join(words) + f" ({mirror})")
    config = ImageConfig(
        architecture=_architecture(),
        config=ContainerConfig(env=tuple(env), cmd=("bash",)),
        created=created,
        history=(history,),
    )
    return store.commit_image(config, [layer], [options.name])


def _architecture() -> str:
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
