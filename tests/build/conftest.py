"""Fixtures for build tests: a private store with the busybox base, a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from images import BUSYBOX_IMAGE, busybox_tarball  # noqa: F401 (fixture)


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class BuildEnv:
    root: Path
    base: str

    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKYARD_ROOT": str(self.root)}

    def dockyard(self, *args: str, check: bool = True, timeout: float = 300) -> Run:
        done = subprocess.run(
            [sys.executable, "-m", "dockyard", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        result = Run(done.returncode, done.stdout, done.stderr)
        if check and done.returncode != 0:
            raise AssertionError(f"dockyard {' '.join(args)} failed:\n{done.stderr}")
        return result

    def build(self, context: Path, *args: str, check: bool = True) -> Run:
        return self.dockyard("build", "--progress", "plain", *args, str(context), check=check)


@pytest.fixture(scope="session")
def base_store(tmp_path_factory: pytest.TempPathFactory, busybox_tarball: Path) -> Path:  # noqa: F811
    """A store with only the busybox base image; tests copy it (cheap, hard links)."""
    from dockyard.archive.importer import import_image
    from dockyard.store import Store

    root = tmp_path_factory.mktemp("base-store") / "root"
    with Store.open(root) as store:
        import_image(store, busybox_tarball, [BUSYBOX_IMAGE])
    return root


@pytest.fixture
def build_env(tmp_path: Path, base_store: Path) -> Iterator[BuildEnv]:
    root = tmp_path / "root"
    subprocess.run(["cp", "-a", "--reflink=auto", str(base_store), str(root)], check=True)
    env = BuildEnv(root, BUSYBOX_IMAGE)
    yield env
    from dockyard.solver.workarea import cleanup_stale

    cleanup_stale(root)


@pytest.fixture
def make_context(tmp_path: Path) -> Callable[[str, dict[str, str]], Path]:
    def make(dockerfile: str, files: dict[str, str] | None = None) -> Path:
        context = tmp_path / "context"
        context.mkdir(exist_ok=True)
        (context / "Dockerfile").write_text(dockerfile)
        for name, content in (files or {}).items():
            path = context / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        return context

    return make


def steps(output: str) -> dict[str, str]:
    """Progress output -> {step name: "CACHED" | "DONE" | "ERROR"} (BuildKit plain format)."""
    names: dict[str, str] = {}
    state: dict[str, str] = {}
    for line in output.splitlines():
        if not line.startswith("#"):
            continue
        number, _, text = line.partition(" ")
        if number not in names and text.startswith("["):
            names[number] = text
        elif text == "CACHED" or text.startswith(("DONE", "ERROR")):
            state[number] = text.split()[0].rstrip(":")
    return {names[number]: status for number, status in state.items() if number in names}
