"""Cases of the differential suite, and building them with Docker (BuildKit) and dockyard.

A case is a directory under ``cases/`` (format in README.md). Docker's results are
flattened descriptions (see flatten.py), cached on disk keyed by the hash of the case
directory and of the harness itself, so a rerun only builds what changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .flatten import describe_archive

DOCKER = "/usr/bin/docker"
HERE = Path(__file__).resolve().parent
CASES_DIR = HERE / "cases"
CACHE_ROOT = Path(os.environ.get("DOCKYARD_TEST_CACHE", "/var/cache/dockyard-tests"))
RESULTS_DIR = CACHE_ROOT / "docker-results"
COMMAND_TIMEOUT = 600
# Parts of a description a case may leave out of the comparison (``skip`` in case.toml).
PARTS = ("files", "layers", "config", "history")


@dataclass(frozen=True)
class PreStep:
    """An image built (and tagged) before the case itself, e.g. an ONBUILD base."""

    tag: str
    dockerfile: str
    build_args: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    name: str
    directory: Path
    description: str
    expect_failure: bool
    dockerfile: str
    docker_dockerfile: str
    build_args: dict[str, str]
    target: str | None
    pre: tuple[PreStep, ...]
    skip: tuple[str, ...]
    checks: tuple[dict[str, Any], ...]
    config_checks: dict[str, Any]
    # A known difference of dockyard's, reported and not fixed yet: the comparison is
    # expected to fail (strictly: once it passes, delete dockyard_xfail from case.toml).
    dockyard_xfail: str | None = None

    @property
    def tag(self) -> str:
        return f"dt-{self.name}"

    def content_hash(self) -> str:
        """Hash of every file of the case (names, exec bits, contents, link targets)."""
        digest = hashlib.sha256()
        for path in sorted(self.directory.rglob("*")):
            relative = path.relative_to(self.directory).as_posix()
            if path.is_symlink():
                digest.update(f"L {relative} {os.readlink(path)}\0".encode())
            elif path.is_file():
                executable = bool(path.stat().st_mode & stat.S_IXUSR)
                digest.update(f"F {relative} {executable}\0".encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
            elif path.is_dir():
                digest.update(f"D {relative}\0".encode())
        return digest.hexdigest()


def load_case(directory: Path) -> Case:
    spec: dict[str, Any] = {}
    if (directory / "case.toml").exists():
        spec = tomllib.loads((directory / "case.toml").read_text())
    expect = spec.get("expect", "success")
    if expect not in ("success", "failure"):
        raise ValueError(f"{directory}: expect must be 'success' or 'failure'")
    unknown_parts = set(spec.get("skip", [])) - set(PARTS)
    if unknown_parts:
        raise ValueError(f"{directory}: unknown parts in skip: {sorted(unknown_parts)}")
    dockerfile = spec.get("dockerfile", "Dockerfile")
    return Case(
        name=directory.name,
        directory=directory,
        description=spec.get("description", ""),
        expect_failure=expect == "failure",
        dockerfile=dockerfile,
        docker_dockerfile=spec.get("docker_dockerfile", dockerfile),
        build_args={k: str(v) for k, v in spec.get("build_args", {}).items()},
        target=spec.get("target"),
        pre=tuple(
            PreStep(
                p["tag"], p["dockerfile"], {k: str(v) for k, v in p.get("build_args", {}).items()}
            )
            for p in spec.get("pre", [])
        ),
        skip=tuple(spec.get("skip", [])),
        checks=tuple(spec.get("check", [])),
        config_checks=dict(spec.get("config", {})),
        dockyard_xfail=spec.get("dockyard_xfail"),
    )


def all_cases() -> list[Case]:
    return [load_case(d) for d in sorted(CASES_DIR.iterdir()) if (d / "Dockerfile").exists()]


def materialise_context(case: Case, destination: Path) -> Path:
    """Copies ``context/`` with normalised modes, then runs ``setup.sh`` inside it.

    Git keeps neither modes (beyond the exec bit), hard links, empty directories nor
    ownership, so those come from setup.sh; modes are normalised so that the umask
    of the checkout does not leak into the images.
    """
    context = destination / "context"
    source = case.directory / "context"
    if source.is_dir():
        shutil.copytree(source, context, symlinks=True)
    else:
        context.mkdir(parents=True)
    for path in [context, *context.rglob("*")]:
        if path.is_symlink():
            continue
        if path.is_dir():
            path.chmod(0o755)
        else:
            path.chmod(0o755 if path.stat().st_mode & stat.S_IXUSR else 0o644)
    setup = case.directory / "setup.sh"
    if setup.exists():
        subprocess.run(["/bin/sh", "-eu", str(setup)], cwd=context, check=True)
    return context


# -- Docker (the reference) ---------------------------------------------------------------


def _harness_hash() -> str:
    digest = hashlib.sha256()
    for name in ("flatten.py", "harness.py"):
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()


def _docker_build(
    tag: str, dockerfile: Path, context: Path, build_args: dict[str, str], target: str | None
) -> subprocess.CompletedProcess[str]:
    command = [DOCKER, "build", "--network", "host", "--progress", "plain", "-t", tag]
    command += ["-f", str(dockerfile)]
    for key, value in build_args.items():
        command += ["--build-arg", f"{key}={value}"]
    if target:
        command += ["--target", target]
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    return subprocess.run(
        [*command, str(context)],
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )


def _tail(process: subprocess.CompletedProcess[str], lines: int = 25) -> str:
    return "\n".join((process.stdout + process.stderr).splitlines()[-lines:])


def build_with_docker(case: Case, base_key: str) -> dict[str, Any]:
    """Docker's result for a case: ``{"failed": bool, "output": str, "image": description}``.

    ``base_key`` (the busybox tarball's hash) is part of the cache key.
    """
    key = hashlib.sha256(f"{case.content_hash()}{_harness_hash()}{base_key}".encode())
    cached = RESULTS_DIR / f"{case.name}-{key.hexdigest()[:20]}.json"
    if cached.exists():
        result: dict[str, Any] = json.loads(cached.read_text())
        return result
    with tempfile.TemporaryDirectory(prefix=f"dt-{case.name}-") as scratch:
        context = materialise_context(case, Path(scratch))
        for step in case.pre:
            process = _docker_build(
                step.tag, case.directory / step.dockerfile, context, step.build_args, None
            )
            if process.returncode != 0:
                raise AssertionError(f"pre-step {step.tag} failed:\n{_tail(process)}")
        process = _docker_build(
            case.tag,
            case.directory / case.docker_dockerfile,
            context,
            case.build_args,
            case.target,
        )
        result = {"failed": process.returncode != 0, "output": _tail(process)}
        if process.returncode == 0:
            archive = Path(scratch) / "image.tar"
            subprocess.run([DOCKER, "save", "-o", str(archive), case.tag], check=True)
            result["image"] = describe_archive(archive)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    # A unique temporary name: two sessions may build the same case at once.
    with tempfile.NamedTemporaryFile("w", dir=RESULTS_DIR, suffix=".partial", delete=False) as out:
        out.write(json.dumps(result, indent=1, sort_keys=True))
    os.replace(out.name, cached)
    return result


# -- dockyard (the code under test) --------------------------------------------------------


@dataclass
class DockyardStore:
    """A private dockyard store with the busybox base imported on first use."""

    root: Path
    busybox_tarball: Path
    base_image: str
    _ready: bool = False

    def run(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "DOCKYARD_ROOT": str(self.root)}
        process = subprocess.run(
            [sys.executable, "-m", "dockyard", *arguments],
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
        if check and process.returncode != 0:
            raise AssertionError(
                f"dockyard {' '.join(arguments)} exited {process.returncode}:\n{_tail(process)}"
            )
        return process

    def ensure_base(self) -> None:
        if not self._ready:
            self.run("import", str(self.busybox_tarball), self.base_image)
            self._ready = True

    def build(
        self,
        tag: str,
        dockerfile: Path,
        context: Path,
        build_args: dict[str, str],
        target: str | None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        arguments = ["build", "-t", tag, "-f", str(dockerfile)]
        for key, value in build_args.items():
            arguments += ["--build-arg", f"{key}={value}"]
        if target:
            arguments += ["--target", target]
        return self.run(*arguments, str(context), check=check)


def build_with_dockyard(case: Case, store: DockyardStore, scratch: Path) -> dict[str, Any]:
    """dockyard's result for a case, in the same shape as ``build_with_docker``."""
    store.ensure_base()
    context = materialise_context(case, scratch)
    for step in case.pre:
        store.build(step.tag, case.directory / step.dockerfile, context, step.build_args, None)
    process = store.build(
        case.tag, case.directory / case.dockerfile, context, case.build_args, case.target, False
    )
    result: dict[str, Any] = {
        "failed": process.returncode != 0,
        "output": _tail(process),
        "traceback": "Traceback (most recent call last)" in process.stderr,
    }
    if process.returncode == 0:
        archive = scratch / "image.tar"
        store.run("save", case.tag, "-o", str(archive))
        result["image"] = describe_archive(archive)
    return result
