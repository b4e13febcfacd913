"""The locally made base images (tests/images.py)."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest

import images


def test_busybox_rootfs_has_busybox_applets_users_and_tmp(busybox_tarball: Path) -> None:
    with tarfile.open(busybox_tarball) as tar:
        members = {m.name: m for m in tar.getmembers()}
        passwd = tar.extractfile(members["etc/passwd"]).read().decode()  # type: ignore[union-attr]
        group = tar.extractfile(members["etc/group"]).read().decode()  # type: ignore[union-attr]
    assert members["bin/busybox"].isreg() and members["bin/busybox"].mode == 0o755
    assert members["bin/sh"].issym() and members["bin/sh"].linkname == "/bin/busybox"
    applets = subprocess.run(
        ["/bin/busybox", "--list-full"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert all(applet in members for applet in applets)
    assert members["tmp"].isdir() and members["tmp"].mode == 0o1777
    assert "nobody:x:65534:65534:" in passwd and "app:x:1000:1000:" in passwd
    assert "nobody:x:65534:" in group and "staff:x:50:app" in group
    assert list(members) == sorted(members), "entries are sorted (deterministic tar)"
    assert {m.mtime for m in members.values()} == {images.FIXED_MTIME}


def test_busybox_rootfs_is_cached_by_content(busybox_tarball: Path) -> None:
    assert images.busybox_rootfs() == busybox_tarball
    assert images.CACHE_ROOT in busybox_tarball.parents


@pytest.mark.interop
def test_busybox_docker_image_runs_and_is_not_reimported(busybox_docker_image: str) -> None:
    before = subprocess.run(
        [images.DOCKER, "image", "inspect", "--format", "{{.Id}}", busybox_docker_image],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    images.docker_image(images.busybox_rootfs(), busybox_docker_image)
    after = subprocess.run(
        [images.DOCKER, "image", "inspect", "--format", "{{.Id}}", busybox_docker_image],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert before == after
    output = subprocess.run(
        [images.DOCKER, "run", "--rm", "--network", "none", busybox_docker_image, "id", "app"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert output.strip() == "uid=1000(app) gid=1000(app) groups=1000(app),50(staff)"


def test_apt_mirror_reads_deb822_then_sources_list(tmp_path: Path) -> None:
    sources = tmp_path / "apt/sources.list.d"
    sources.mkdir(parents=True)
    (sources / "debian.sources").write_text(
        "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n"
        "Components: main\n\n"
        "# a comment\nTypes: deb deb-src\nURIs: http://mirror.example/debian\n"
        "Suites: bookworm bookworm-updates\nComponents: main\n"
    )
    assert images.apt_mirror(tmp_path) == "http://mirror.example/debian"
    (sources / "debian.sources").unlink()
    (tmp_path / "apt/sources.list").write_text(
        "# comment\ndeb http://sec.example/ bookworm-security main\n"
        "deb [arch=amd64] http://list.example/debian bookworm main\n"
    )
    assert images.apt_mirror(tmp_path) == "http://list.example/debian"
    (tmp_path / "apt/sources.list").unlink()
    with pytest.raises(RuntimeError, match="no Debian mirror"):
        images.apt_mirror(tmp_path)


@pytest.mark.slow
def test_debian_rootfs_trusts_the_host_cas(debian_tarball: Path) -> None:
    host_bundle = images.host_ca_bundle().read_bytes()
    with tarfile.open(debian_tarball) as tar:
        names = set(tar.getnames())
        bundle = tar.extractfile("./etc/ssl/certs/ca-certificates.crt").read()  # type: ignore[union-attr]
        status = tar.extractfile("./var/lib/dpkg/status").read().decode()  # type: ignore[union-attr]
    assert "./etc/debian_version" in names and "./usr/bin/apt-get" in names
    assert host_bundle.strip() in bundle
    assert "./usr/local/share/ca-certificates/dockyard-host.crt" in names
    assert "Package: ca-certificates\n" in status
    assert not [n for n in names if n.startswith("./dev/") or n.startswith("./proc/")]


@pytest.mark.slow
def test_node_debian_rootfs_has_node_and_npm(node_debian_tarball: Path) -> None:
    with tarfile.open(node_debian_tarball) as tar:
        names = set(tar.getnames())
        status = tar.extractfile("./var/lib/dpkg/status").read().decode()  # type: ignore[union-attr]
    assert "./usr/bin/node" in names or "./usr/bin/nodejs" in names
    assert "./usr/bin/npm" in names
    assert "Package: npm\n" in status
    assert images.debian_rootfs(include=("npm", "nodejs")) == node_debian_tarball  # cached


@pytest.mark.slow
@pytest.mark.interop
def test_node_standin_runs_node_and_trusts_the_host_cas(node_docker_image: str) -> None:
    script = "node --version && npm --version && echo $NODE_EXTRA_CA_CERTS && echo $PATH"
    output = subprocess.run(
        [images.DOCKER, "run", "--rm", "--network", "none", node_docker_image, "sh", "-c", script],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert output[0].startswith("v") and output[1][0].isdigit()
    assert output[2:] == [images.CA_BUNDLE_IN_IMAGE, images.DEFAULT_PATH]
