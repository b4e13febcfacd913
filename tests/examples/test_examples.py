"""The seed example and the multistage lesson, built and run like the README says."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import Dockyard, cached_steps, copy_example, fetch, free_port

pytestmark = pytest.mark.slow


def _ca_file() -> str:
    return os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt"


def test_simple_node_rebuild_reuses_npm_install(
    dockyard: Dockyard, tmp_path: Path, running: list[str]
) -> None:
    dockyard(
        "bootstrap",
        "node:21",
        "--include",
        "nodejs,npm,ca-certificates",
        "--ca-certificates",
        _ca_file(),
    )
    context = copy_example("simple-node", tmp_path)
    first = dockyard("build", "--progress", "plain", "-t", "simple-node", str(context))
    assert not any(cached_steps(first.stderr).values())

    server = context / "server.js"
    server.write_text(server.read_text().replace("Hello World!", "Hello again!"))
    second = dockyard("build", "--progress", "plain", "-t", "simple-node", str(context))
    steps = cached_steps(second.stderr)
    npm_steps = [name for name in steps if "RUN npm install" in name]
    assert len(npm_steps) == 2 and all(steps[name] for name in npm_steps), steps
    copy_all = [name for name in steps if "COPY . ." in name]
    assert copy_all and not steps[copy_all[0]], steps

    port = free_port()
    running.append("simple-node-test")
    dockyard("run", "-d", "--name", "simple-node-test", "-p", f"{port}:3000", "simple-node")
    assert fetch(f"http://127.0.0.1:{port}/") == "Hello again!"


def test_go_multistage_is_a_tenth_of_single_stage(
    dockyard: Dockyard, tmp_path: Path, running: list[str]
) -> None:
    dockyard("bootstrap", "golang:local", "--include", "golang-go,ca-certificates")
    context = copy_example("go-multistage", tmp_path)
    dockyard("build", "-t", "hello:single", "-f", str(context / "Dockerfile.single"), str(context))
    dockyard("build", "-t", "hello:multi", str(context))
    single, multi = dockyard.image_size("hello:single"), dockyard.image_size("hello:multi")
    assert multi * 10 < single, (multi, single)

    config = dockyard("inspect", "--format", "{{.Config.User}}", "hello:multi").stdout.strip()
    assert config == "nobody:nobody"
    port = free_port()
    running.append("hello-multi-test")
    dockyard("run", "-d", "--name", "hello-multi-test", "-p", f"{port}:8080", "hello:multi")
    assert fetch(f"http://127.0.0.1:{port}/") == "Hello World!\n"
