"""The seed: build examples/simple-node on a node:21 stand-in (Debian's nodejs and npm),
``dockyard run --rm -p 3000:3000 simple-node``, and localhost:3000 says Hello World!;
stopping it frees the port and leaves no mount, process or runc state behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from images import DEBIAN_CHANGES, node_debian_tarball  # noqa: F401

from .helpers import listener_probe
from .test_detached import wait_for
from .test_run_cli import assert_clean, dockyard

pytestmark = [pytest.mark.root, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "simple-node"


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            body: bytes = response.read()
            return body.decode()
    except OSError:
        return None


def test_seed_example_served_on_localhost(node_debian_tarball: Path, root: Path) -> None:  # noqa: F811
    changes = [argument for change in DEBIAN_CHANGES for argument in ("--change", change)]
    imported = dockyard("import", *changes, str(node_debian_tarball), "node:21")
    assert imported.returncode == 0, imported.stderr
    built = dockyard("build", "-t", "simple-node", str(EXAMPLE))
    assert built.returncode == 0, built.stderr
    with listener_probe() as probe:
        probe.bind(("127.0.0.1", 3000))  # the seed's port must be free to begin with

    server = subprocess.Popen(
        [sys.executable, "-m", "dockyard", "run", "--rm", "-p", "3000:3000", "simple-node"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        wait_for(lambda: b"Server is running" in server.stdout.readline(), timeout=60)
        wait_for(lambda: fetch("http://localhost:3000/") == "Hello World!")
        assert fetch("http://127.0.0.1:3000/") == "Hello World!"
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
    assert fetch("http://127.0.0.1:3000/") is None
    with listener_probe() as again:
        again.bind(("0.0.0.0", 3000))  # no listener left behind
    assert dockyard("ps", "-aq").stdout == ""
    assert_clean(root)
