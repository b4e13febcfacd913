"""dockyard bootstrap: apt mirror discovery, validation, and a real debootstrap (slow)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.errors import BuildError, UsageError
from dockyard.solver.bootstrap import (
    EXTRA_CA_PATH,
    AptSource,
    BootstrapOptions,
    bootstrap,
    find_mirror,
    read_apt_sources,
)
from dockyard.store import Store

DEB822 = """\
Types: deb
# a comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
Components: main
"""


def test_reads_deb822_and_one_line_sources(tmp_path: Path) -> None:
    etc = tmp_path / "apt"
    (etc / "sources.list.d").mkdir(parents=True)
    (etc / "sources.list.d/debian.sources").write_text(DEB822)
    (etc / "sources.list.d/other.list.disabled").write_text("deb http://no.example/ x main\n")
    (etc / "sources.list").write_text(
        "# comment\ndeb [arch=amd64] http://old.example/debian trixie main contrib\n"
    )
    sources = read_apt_sources(etc)
    assert sources == [
        AptSource("http://mirror.example/debian", ("bookworm", "bookworm-updates"), ("main",)),
        AptSource("http://mirror.example/debian-security", ("bookworm-security",), ("main",)),
        AptSource("http://old.example/debian", ("trixie",), ("main", "contrib")),
    ]
    assert find_mirror("bookworm", sources) == "http://mirror.example/debian"
    assert find_mirror("trixie", sources) == "http://old.example/debian"
    # A suite nobody lists: the first main archive that is not security/updates.
    assert find_mirror("sid", sources) == "http://mirror.example/debian"


def test_no_mirror_is_a_clear_error() -> None:
    with pytest.raises(BuildError, match="no apt mirror") as raised:
        find_mirror("bookworm", [])
    assert "--mirror" in (raised.value.hint or "")


def test_machine_mirror_is_found() -> None:
    # This machine (and CI) has an apt mirror configured; bootstrap relies on it.
    assert find_mirror("bookworm", read_apt_sources()).startswith(("http://", "https://"))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (BootstrapOptions("x", include=("bad name",)), "invalid package name"),
        (BootstrapOptions("x", suite="Bookworm;rm"), "invalid suite"),
        (BootstrapOptions("x", ca_certificates=Path("/nonexistent.pem")), "no such file"),
    ],
)
def test_invalid_options(tmp_path: Path, options: BootstrapOptions, message: str) -> None:
    with Store.open(tmp_path / "store") as store, pytest.raises(UsageError, match=message):
        bootstrap(store, options)


def test_cli_reports_usage_errors(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dockyard", "bootstrap", "x", "--include", "a b"],
        capture_output=True,
        text=True,
        env={**os.environ, "DOCKYARD_ROOT": str(tmp_path / "store")},
        check=False,
    )
    assert result.returncode == 2
    assert "invalid package name" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_bootstrap_builds_and_caches_an_image(tmp_path: Path) -> None:
    ca = tmp_path / "extra-ca.pem"
    ca.write_text(Path("/etc/ssl/certs/ca-certificates.crt").read_text().split("-----END")[0])
    messages: list[str] = []
    with Store.open(tmp_path / "store") as store:
        options = BootstrapOptions("debian:test", include=("ca-certificates",), ca_certificates=ca)
        image = bootstrap(store, options, messages.append)
        assert any(message.startswith("running debootstrap") for message in messages)
        assert image.repo_tags == ["debian:test"]
        config = image.config.config
        assert config.cmd == ("bash",)
        assert config.env[0].startswith("PATH=/usr/local/sbin:/usr/local/bin:")
        assert f"NODE_EXTRA_CA_CERTS={EXTRA_CA_PATH}" in config.env
        assert len(image.layers) == 1
        cache = store.root / "cache/bootstrap"
        assert len(list(cache.glob("base-*/rootfs"))) == 1  # debootstrap's tree, reused later
        trees = [
            tree for tree in cache.glob("*/rootfs") if not tree.parent.name.startswith("base-")
        ]
        assert len(trees) == 1
        rootfs = trees[0]
        assert (rootfs / "etc/debian_version").read_text().startswith("12")
        assert (rootfs / EXTRA_CA_PATH.lstrip("/")).read_bytes() == ca.read_bytes()
        bundle = (rootfs / "etc/ssl/certs/ca-certificates.crt").read_text()
        assert ca.read_text().strip().splitlines()[1] in bundle
        assert not list((rootfs / "var/cache/apt/archives").glob("*.deb"))
        # Second time: the cached tree, no debootstrap.
        messages.clear()
        again = bootstrap(
            store,
            BootstrapOptions("debian:again", include=("ca-certificates",), ca_certificates=ca),
            messages.append,
        )
        assert not any(message.startswith("running debootstrap") for message in messages)
        assert again.layers[0].diff_id == image.layers[0].diff_id
