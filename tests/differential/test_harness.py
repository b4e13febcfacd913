"""Case loading, context materialisation and cache keys of the harness (no Docker needed)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from .harness import CASES_DIR, PARTS, all_cases, load_case, materialise_context


def _write_case(directory: Path, toml: str = "") -> Path:
    (directory / "context" / "dir").mkdir(parents=True)
    (directory / "Dockerfile").write_text("FROM scratch\nCOPY . /\n")
    (directory / "context" / "dir" / "file").write_text("x\n")
    (directory / "context" / "script").write_text("#!/bin/sh\n")
    (directory / "context" / "script").chmod(0o700)
    if toml:
        (directory / "case.toml").write_text(toml)
    return directory


def test_every_case_loads_and_names_only_known_parts() -> None:
    cases = all_cases()
    assert len(cases) == len([d for d in CASES_DIR.iterdir() if (d / "Dockerfile").exists()])
    for case in cases:
        assert case.description, f"{case.name}: describe what the case is about"
        assert set(case.skip) <= set(PARTS)
        for step in case.pre:
            assert (case.directory / step.dockerfile).exists()
        assert (case.directory / case.docker_dockerfile).exists()
        if case.expect_failure:
            assert not case.checks and not case.config_checks, case.name


def test_case_options_are_read(tmp_path: Path) -> None:
    case = load_case(
        _write_case(
            tmp_path / "demo",
            'expect = "failure"\nbuild_args = { A = 1 }\ntarget = "t"\nskip = ["history"]\n'
            '[[pre]]\ntag = "x:y"\ndockerfile = "Dockerfile"\n',
        )
    )
    assert case.expect_failure and case.build_args == {"A": "1"} and case.target == "t"
    assert case.pre[0].tag == "x:y" and case.skip == ("history",) and case.tag == "dt-demo"


@pytest.mark.parametrize(
    ("toml", "message"),
    [('expect = "maybe"', "expect must be"), ('skip = ["everything"]', "unknown parts")],
)
def test_bad_case_options_are_refused(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_case(_write_case(tmp_path / "bad", toml))


def test_content_hash_follows_names_contents_and_exec_bits(tmp_path: Path) -> None:
    case = load_case(_write_case(tmp_path / "demo"))
    first = case.content_hash()
    assert case.content_hash() == first
    (case.directory / "context" / "dir" / "file").write_text("changed\n")
    second = case.content_hash()
    assert second != first
    (case.directory / "context" / "dir" / "file").chmod(0o755)
    third = case.content_hash()
    assert third != second
    (case.directory / "context" / "dir" / "file").rename(case.directory / "context" / "renamed")
    assert case.content_hash() != third


def test_materialised_context_has_normalised_modes_and_runs_setup(tmp_path: Path) -> None:
    case_dir = _write_case(tmp_path / "demo")
    (case_dir / "context" / "dir").chmod(0o700)
    (case_dir / "context" / "dir" / "file").chmod(0o600)
    (case_dir / "setup.sh").write_text("ln dir/file hardlink\nchmod 0640 dir/file\n")
    old_umask = os.umask(0o077)
    try:
        context = materialise_context(load_case(case_dir), tmp_path / "out")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(context.stat().st_mode) == 0o755
    assert stat.S_IMODE((context / "dir").stat().st_mode) == 0o755
    assert stat.S_IMODE((context / "script").stat().st_mode) == 0o755
    # setup.sh ran after the normalisation, inside the context
    assert stat.S_IMODE((context / "dir" / "file").stat().st_mode) == 0o640
    assert (context / "hardlink").stat().st_ino == (context / "dir" / "file").stat().st_ino
    assert not (context / "setup.sh").exists()
