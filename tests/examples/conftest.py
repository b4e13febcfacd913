"""The examples end to end: bootstrap the base images, build, rebuild, run (slow)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
EXAMPLES = REPO / "examples"


class Dockyard:
    """Runs the CLI against one private store."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {**os.environ, "DOCKYARD_ROOT": str(root)}

    def __call__(self, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "dockyard", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(
                f"dockyard {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def image_size(self, name: str) -> int:
        import json

        return int(json.loads(self("inspect", name).stdout)[0]["Size"])


@pytest.fixture(scope="session")
def dockyard(tmp_path_factory: pytest.TempPathFactory) -> Dockyard:
    return Dockyard(tmp_path_factory.mktemp("examples-store"))


def copy_example(name: str, target: Path) -> Path:
    shutil.copytree(EXAMPLES / name, target / name, symlinks=True)
    return target / name


def cached_steps(progress: str) -> dict[str, bool]:
    """BuildKit plain progress -> {step name: was it CACHED}."""
    names: dict[str, str] = {}
    cached: dict[str, bool] = {}
    for line in progress.splitlines():
        found = re.match(r"#(\d+) (.*)$", line)
        if not found:
            continue
        number, text = found.groups()
        if number not in names:
            names[number] = text
            cached[text] = False
        elif text.strip() == "CACHED":
            cached[names[number]] = True
    return cached


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def fetch(url: str, attempts: int = 120) -> str:
    """GET ``url``, retrying while the server inside the container starts."""
    last: Exception | None = None
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body: str = response.read().decode()
                return body
        except (urllib.error.URLError, ConnectionError, OSError) as error:
            last = error
            time.sleep(0.5)
    raise AssertionError(f"{url} never answered: {last}")


@pytest.fixture
def running(dockyard: Dockyard) -> Iterator[list[str]]:
    """Names of containers a test started; removed afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        subprocess.run(
            [sys.executable, "-m", "dockyard", "rm", "-f", name],
            env=dockyard.env,
            capture_output=True,
            check=False,
        )
