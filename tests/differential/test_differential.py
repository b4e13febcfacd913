"""The differential suite: every case built by Docker (BuildKit) and by dockyard.

``test_docker_reference`` proves each case means what it says on the reference side:
Docker builds it (or fails for failure cases) and the case's own checks hold on the
flattened image. ``test_dockyard_matches_docker`` builds the same case with dockyard
and compares the flattened images.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from .compare import diff_descriptions, failed_checks, failed_config_checks
from .flatten import describe_archive
from .harness import (
    DOCKER,
    Case,
    DockyardStore,
    all_cases,
    build_with_docker,
    build_with_dockyard,
)

pytestmark = [pytest.mark.differential, pytest.mark.interop, pytest.mark.slow]

CASES = all_cases()


# Until `dockyard build` is on main (issue 4) the dockyard side cannot pass. Helper "build":
# delete this marker when the build lands, so that mismatches fail CI.
@pytest.fixture(scope="session")
def docker_results(busybox_docker_image: str, busybox_key: str) -> dict[str, dict[str, Any]]:
    """Docker's result for every case, built a few at a time (BuildKit runs them in parallel)."""

    def build(case: Case) -> dict[str, Any]:
        try:
            return build_with_docker(case, busybox_key)
        except Exception as error:  # reported by the case's own test, not the whole session
            return {"error": f"{type(error).__name__}: {error}"}

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(build, CASES)
        return {case.name: result for case, result in zip(CASES, results, strict=True)}


def test_cases_are_enough() -> None:
    names = [case.name for case in CASES]
    assert len(names) >= 35, names
    assert sum(case.expect_failure for case in CASES) >= 4


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_docker_reference(case: Case, docker_results: dict[str, dict[str, Any]]) -> None:
    result = docker_results[case.name]
    assert "error" not in result, result.get("error")
    if case.expect_failure:
        assert result["failed"], f"docker build should fail:\n{result['output']}"
        return
    assert not result["failed"], f"docker build failed:\n{result['output']}"
    image = result["image"]
    problems = failed_checks(image, case.checks) + failed_config_checks(image, case.config_checks)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_dockyard_matches_docker(
    case: Case,
    docker_results: dict[str, dict[str, Any]],
    dockyard_store: DockyardStore,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    if case.dockyard_xfail:
        reason = f"known difference: {case.dockyard_xfail} (fixed? delete dockyard_xfail)"
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    expected = docker_results[case.name]
    assert "error" not in expected, expected.get("error")
    assert expected["failed"] == case.expect_failure, (
        "the reference side is wrong: see test_docker_reference"
    )
    actual = build_with_dockyard(case, dockyard_store, tmp_path)
    if case.expect_failure:
        assert actual["failed"], "dockyard build should fail like docker's"
        assert not actual["traceback"], f"a failure must be a DockyardError:\n{actual['output']}"
        return
    assert not actual["failed"], f"dockyard build failed:\n{actual['output']}"
    differences = diff_descriptions(expected["image"], actual["image"], case.skip)
    assert not differences, f"{case.name}: images differ\n" + "\n".join(differences)


def test_dockyard_import_matches_docker_import(
    busybox_docker_image: str, dockyard_store: DockyardStore, tmp_path: Path
) -> None:
    """The base of every case: `dockyard import` + `save` equals `docker import` + `save`."""
    docker_archive = tmp_path / "docker.tar"
    subprocess.run([DOCKER, "save", "-o", str(docker_archive), busybox_docker_image], check=True)
    dockyard_store.ensure_base()
    dockyard_archive = tmp_path / "dockyard.tar"
    dockyard_store.run("save", busybox_docker_image, "-o", str(dockyard_archive))
    differences = diff_descriptions(
        describe_archive(docker_archive), describe_archive(dockyard_archive)
    )
    assert not differences, "imported base images differ\n" + "\n".join(differences)
