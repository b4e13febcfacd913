"""Base images for the tests, made on this machine (no registry is reachable).

- ``busybox_rootfs()``: a FROM-scratch style tree with Debian's static busybox and its
  applet symlinks, /etc/passwd and /etc/group (root, nobody 65534, app 1000), /tmp 1777.
- ``debian_rootfs()``: a Debian tree made by debootstrap (minbase) from the machine's
  configured apt mirror, with the host's CA bundle trusted inside, optionally with extra
  packages (e.g. nodejs and npm for the seed example's ``node:21`` stand-in).
- ``docker_image(tarball, name)``: loads a tarball into dockerd with ``docker import``.

Tarballs are cached on disk under ``$DOCKYARD_TEST_CACHE`` (default
``/var/cache/dockyard-tests``) with the hash of every input in the file name, so a
changed input (busybox binary, recipe, mirror, CA bundle, package list) rebuilds.
The tar streams are deterministic: sorted names, numeric owners, a fixed mtime.

Used by the tests through the fixtures at the bottom (import them into a conftest:
``from images import busybox_tarball, busybox_docker_image  # noqa: F401``) and from
the shell: ``python tests/images.py busybox|debian [--include nodejs,npm]`` prints the
tarball path.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

DOCKER = "/usr/bin/docker"
BUSYBOX = Path("/bin/busybox")
CACHE_ROOT = Path(os.environ.get("DOCKYARD_TEST_CACHE", "/var/cache/dockyard-tests"))
BUSYBOX_IMAGE = "dockyard-test/busybox:latest"
# Bump when a recipe below changes: the cache keys include it.
RECIPE_VERSION = "2"
FIXED_MTIME = 1_700_000_000

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
"""
GROUP = """\
root:x:0:
daemon:x:1:
staff:x:50:app
app:x:1000:
nobody:x:65534:
"""


# -- cache ------------------------------------------------------------------------------


@contextmanager
def _locked(name: str) -> Iterator[None]:
    """Serialises builders of one cached artefact across processes (pytest-xdist, CI)."""
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    with open(CACHE_ROOT / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join((RECIPE_VERSION, *parts)).encode()).hexdigest()[:16]


# -- busybox ----------------------------------------------------------------------------


def _applets() -> list[str]:
    listing = subprocess.run(
        [str(BUSYBOX), "--list-full"], check=True, capture_output=True, text=True
    ).stdout
    return sorted({line.strip() for line in listing.splitlines() if line.strip()})


def _tarinfo(name: str, kind: bytes, mode: int, uid: int = 0, gid: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.uid, info.gid = uid, gid
    info.mtime = FIXED_MTIME
    return info


def _write_busybox_tar(target: Path) -> None:
    applets = [a for a in _applets() if a != "bin/busybox"]
    dirs = {"bin", "etc", "root", "tmp", "home", "home/app", "var"}
    for applet in applets:
        parent = os.path.dirname(applet)
        while parent:
            dirs.add(parent)
            parent = os.path.dirname(parent)
    special = {"root": (0o700, 0, 0), "tmp": (0o1777, 0, 0), "home/app": (0o755, 1000, 1000)}
    files = {"etc/passwd": PASSWD.encode(), "etc/group": GROUP.encode()}
    entries: list[tuple[str, tarfile.TarInfo, bytes | None]] = []
    for directory in dirs:
        mode, uid, gid = special.get(directory, (0o755, 0, 0))
        entries.append((directory, _tarinfo(directory, tarfile.DIRTYPE, mode, uid, gid), None))
    for name, content in files.items():
        info = _tarinfo(name, tarfile.REGTYPE, 0o644)
        info.size = len(content)
        entries.append((name, info, content))
    binary = BUSYBOX.read_bytes()
    info = _tarinfo("bin/busybox", tarfile.REGTYPE, 0o755)
    info.size = len(binary)
    entries.append(("bin/busybox", info, binary))
    for applet in applets:
        info = _tarinfo(applet, tarfile.SYMTYPE, 0o777)
        info.linkname = "/bin/busybox"
        entries.append((applet, info, None))
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as tar:
        for _, info, content in sorted(entries, key=lambda entry: entry[0]):
            tar.addfile(info, io.BytesIO(content) if content is not None else None)


def busybox_rootfs() -> Path:
    """The busybox rootfs tarball (uncompressed), built once per busybox binary."""
    key = _key("busybox", _file_sha256(BUSYBOX), PASSWD, GROUP)
    target = CACHE_ROOT / "images" / f"busybox-{key}.tar"
    with _locked("busybox"):
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".partial")
            _write_busybox_tar(partial)
            partial.rename(target)
    return target


# -- debian -----------------------------------------------------------------------------


def apt_mirror(etc: Path = Path("/etc")) -> str:
    """The Debian mirror this machine's apt uses (deb822 .sources first, then sources.list)."""
    sources = sorted((etc / "apt/sources.list.d").glob("*.sources"))
    for path in sources:
        for stanza in re.split(r"\n\s*\n", path.read_text()):
            fields = dict(
                (key.strip().lower(), value.strip())
                for key, _, value in (
                    line.partition(":") for line in stanza.splitlines() if not line.startswith("#")
                )
                if value
            )
            suites = fields.get("suites", "").split()
            if "deb" in fields.get("types", "").split() and any(
                not suite.endswith(("-security", "-updates")) for suite in suites
            ):
                return fields["uris"].split()[0]
    sources_list = etc / "apt/sources.list"
    if sources_list.exists():
        for line in sources_list.read_text().splitlines():
            words = line.split("#", 1)[0].split()
            words = [w for w in words if not w.startswith("[")]
            if len(words) >= 3 and words[0] == "deb" and not words[2].endswith("-security"):
                return words[1]
    raise RuntimeError("no Debian mirror found in /etc/apt/sources.list{,.d/*.sources}")


def host_ca_bundle() -> Path:
    """The CA bundle the host trusts (it includes the intercepting proxy's CA)."""
    return Path(os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt")


def _trust_host_cas(root: Path, bundle: Path) -> None:
    # Appending the host bundle keeps the image's own CAs and adds the proxy's;
    # the copy under /usr/local/share survives a later update-ca-certificates.
    local = root / "usr/local/share/ca-certificates"
    local.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(bundle, local / "dockyard-host.crt")
    certs = root / "etc/ssl/certs"
    certs.mkdir(parents=True, exist_ok=True)
    combined = certs / "ca-certificates.crt"
    existing = combined.read_bytes() if combined.exists() else b""
    combined.write_bytes(existing + b"\n" + bundle.read_bytes())
    combined.chmod(0o644)


def _tar_tree(root: Path, target: Path) -> None:
    subprocess.run(
        [
            "tar", "--sort=name", "--numeric-owner", "--xattrs", "--xattrs-include=security.*",
            f"--mtime=@{FIXED_MTIME}", "--clamp-mtime",
            "--exclude=./dev/*", "--exclude=./proc/*", "--exclude=./sys/*",
            "--exclude=./var/cache/apt/archives/*.deb", "--exclude=./var/lib/apt/lists/*",
            "-C", str(root), "-cf", str(target), ".",
        ],
        check=True,
    )  # fmt: skip


def _run_logged(command: Sequence[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{tail}")


def _apt_install(root: Path, packages: Sequence[str]) -> None:
    env = "DEBIAN_FRONTEND=noninteractive"
    _run_logged(["chroot", str(root), "apt-get", "update", "-q"])
    _run_logged(
        ["chroot", str(root), "env", env, "apt-get", "install", "-y", "-q",
         "--no-install-recommends", *packages]
    )  # fmt: skip
    _run_logged(["chroot", str(root), "apt-get", "clean"])


def debian_rootfs(suite: str = "bookworm", include: Sequence[str] = ()) -> Path:
    """A debootstrap'ed (minbase) Debian tree as a tarball, with the host's CAs trusted.

    ``include`` adds packages (e.g. ``("nodejs", "npm")``); ca-certificates is always in.
    Takes minutes the first time (downloads from the mirror), then comes from the cache.
    """
    packages = sorted({"ca-certificates", *include})
    mirror = apt_mirror()
    bundle = host_ca_bundle()
    key = _key("debian", suite, mirror, ",".join(packages), _file_sha256(bundle))
    name = "-".join(["debian", suite, *[p for p in packages if p != "ca-certificates"]])
    target = CACHE_ROOT / "images" / f"{name}-{key}.tar"
    with _locked(f"debian-{key}"):
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="debootstrap-", dir=CACHE_ROOT) as scratch:
            root = Path(scratch) / "rootfs"
            _run_logged(
                ["debootstrap", "--variant=minbase", "--include=ca-certificates",
                 suite, str(root), mirror]
            )  # fmt: skip
            _trust_host_cas(root, bundle)
            if include:
                # debootstrap's own resolver trips over npm's dependency tree: use apt.
                _apt_install(root, sorted(set(include)))
            partial = target.with_suffix(".partial")
            _tar_tree(root, partial)
            partial.rename(target)
    return target


# -- docker -----------------------------------------------------------------------------


def docker_image(tarball: Path, name: str, changes: Sequence[str] = ()) -> str:
    """``docker import`` the tarball as ``name`` unless that image already has it.

    The check compares the image's only layer diff_id with the tarball's sha256
    (docker import keeps the uncompressed stream as given). Returns ``name``.
    """
    expected = f"sha256:{_file_sha256(tarball)}"
    with _locked("docker-import"):
        probe = subprocess.run(
            [DOCKER, "image", "inspect", "--format", "{{json .RootFS.Layers}}", name],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0 and json.loads(probe.stdout) == [expected]:
            return name
        command = [DOCKER, "import"]
        for change in changes:
            command += ["--change", change]
        subprocess.run([*command, str(tarball), name], check=True, stdout=subprocess.DEVNULL)
    return name


NODE_STANDIN = "node:21"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CA_BUNDLE_IN_IMAGE = "/etc/ssl/certs/ca-certificates.crt"
# The config a Debian stand-in gets on import: PATH as in Docker's images, and node
# told about the bundle that holds the intercepting proxy's CA.
DEBIAN_CHANGES = (f"ENV PATH={DEFAULT_PATH}", f"ENV NODE_EXTRA_CA_CERTS={CA_BUNDLE_IN_IMAGE}")


def node_standin_docker_image(name: str = NODE_STANDIN) -> str:
    """Debian + nodejs + npm imported into dockerd as ``node:21`` (the seed example's base).

    BuildKit resolves ``FROM node:21`` to this local image without a registry.
    """
    return docker_image(debian_rootfs(include=("nodejs", "npm")), name, DEBIAN_CHANGES)


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def busybox_tarball() -> Path:
    """Path of the busybox rootfs tarball (import it with ``dockyard import``)."""
    return busybox_rootfs()


@pytest.fixture(scope="session")
def busybox_docker_image(busybox_tarball: Path) -> str:
    """``dockyard-test/busybox:latest`` present in dockerd; returns the name."""
    return docker_image(busybox_tarball, BUSYBOX_IMAGE)


@pytest.fixture(scope="session")
def debian_tarball() -> Path:
    """Path of a minbase Debian bookworm tarball with the host's CAs trusted."""
    return debian_rootfs()


@pytest.fixture(scope="session")
def node_debian_tarball() -> Path:
    """Debian bookworm + nodejs + npm: the stand-in for ``node:21``."""
    return debian_rootfs(include=("nodejs", "npm"))


@pytest.fixture(scope="session")
def node_docker_image() -> str:
    """``node:21`` in dockerd: the Debian nodejs+npm stand-in; returns the name."""
    return node_standin_docker_image()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build (or find cached) test base images.")
    parser.add_argument("kind", choices=["busybox", "debian"])
    parser.add_argument("--suite", default="bookworm")
    parser.add_argument("--include", default="", help="comma-separated extra packages")
    parser.add_argument("--docker", metavar="NAME", help="also docker import it as NAME")
    parser.add_argument(
        "--change", action="append", default=[], help="with --docker: docker import --change"
    )
    args = parser.parse_args(argv)
    if args.kind == "busybox":
        path = busybox_rootfs()
    else:
        path = debian_rootfs(args.suite, [p for p in args.include.split(",") if p])
    if args.docker:
        docker_image(path, args.docker, args.change)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
