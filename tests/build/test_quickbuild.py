"""The build command line read by hand (cli/quickbuild.py) agrees with argparse."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.cli import build as build_command
from dockyard.cli.quickbuild import dockerfile_location, parse

FIELDS = {
    "context": "context",
    "tags": "tag",
    "file": "file",
    "build_args": "build_arg",
    "labels": "label",
    "target": "target",
    "network": "network",
    "progress": "progress",
    "iidfile": "iidfile",
    "quiet": "quiet",
}


def _argparse(argv: list[str]) -> argparse.Namespace | None:
    parser = argparse.ArgumentParser(exit_on_error=False)
    build_command.configure(parser, "build")
    try:
        return parser.parse_args(argv)
    except (argparse.ArgumentError, SystemExit):
        return None


def _agrees(argv: list[str]) -> None:
    quick = parse(argv)
    if quick is None:
        return  # left to argparse: nothing to compare
    full = _argparse(argv)
    assert full is not None, f"quickbuild accepted what argparse refuses: {argv}"
    for mine, theirs in FIELDS.items():
        assert getattr(quick, mine) == getattr(full, theirs), (argv, mine)
    # What quickbuild never reads must be at its default, or it would have refused.
    assert not full.no_cache and not full.pull and not full.secret and full.output is None


@pytest.mark.parametrize(
    "argv",
    [
        ["."],
        ["-q", "-t", "app", "."],
        [".", "-t", "a:1", "--tag", "b", "--tag=c", "-q"],
        ["-f", "Dockerfile.dev", "--build-arg", "A=1", "--build-arg", "B", "ctx"],
        ["--label=x=y", "--target", "final", "--network", "host", "--progress=plain", "."],
        ["--iidfile", "/tmp/id", "--quiet", "."],
        ["--target", "a", "--target", "b", "."],
        ["--tag=", "."],
    ],
)
def test_the_common_forms_are_read_as_argparse_reads_them(argv: list[str]) -> None:
    assert parse(argv) is not None
    _agrees(argv)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["-"],  # stdin
        [".", "other"],  # two contexts
        ["--no-cache", "."],
        ["--pull", "."],
        ["--secret", "id=a,src=b", "."],
        ["-o", "type=oci,dest=x", "."],
        ["--platform", "linux/amd64", "."],
        ["--tar", "x", "."],  # an abbreviation argparse would accept
        ["-qt", "x", "."],  # combined short options
        ["-tx", "."],  # attached short value
        ["-t", "-x", "."],  # a value that looks like an option
        ["--tag=-x", "."],
        ["--network", "bridge", "."],  # not a choice
        ["--progress", "fancy", "."],
        ["-t"],  # missing value
        ["--", "."],
        ["--help"],
    ],
)
def test_anything_else_is_left_to_argparse(argv: list[str]) -> None:
    assert parse(argv) is None


TOKENS = st.sampled_from(
    [
        "-t",
        "--tag",
        "-f",
        "--file",
        "--build-arg",
        "--label",
        "--target",
        "--network",
        "--progress",
        "--iidfile",
        "-q",
        "--quiet",
        "--no-cache",
        "--tag=v",
        "--network=host",
        "--progress=rawjson",
        "--build-arg=K=V",
        "-",
        "--",
        ".",
        "ctx",
        "host",
        "plain",
        "A=1",
        "name:tag",
        "-x",
        "",
    ]
)


@settings(max_examples=600, deadline=None)
@given(st.lists(TOKENS, max_size=8))
def test_whatever_quickbuild_accepts_argparse_reads_the_same(argv: list[str]) -> None:
    _agrees(argv)


def test_the_dockerfile_is_found_by_dockers_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    monkeypatch.chdir(tmp_path)
    assert dockerfile_location(None, "ctx") == os.path.join("ctx", "Dockerfile")
    (context / "Containerfile").write_text("FROM scratch\n")
    assert dockerfile_location(None, "ctx") == os.path.join("ctx", "Containerfile")
    (context / "Dockerfile").write_text("FROM scratch\n")
    assert dockerfile_location(None, "ctx") == os.path.join("ctx", "Dockerfile")
    # -f: relative to the current directory, else to the context.
    (context / "Dockerfile.dev").write_text("FROM scratch\n")
    assert dockerfile_location("Dockerfile.dev", "ctx") == os.path.join("ctx", "Dockerfile.dev")
    (tmp_path / "Dockerfile.dev").write_text("FROM scratch\n")
    assert dockerfile_location("Dockerfile.dev", "ctx") == "Dockerfile.dev"
    assert dockerfile_location(None, None) is None


def test_a_no_op_build_is_answered_without_argparse_or_the_engine(
    tmp_path: Path,
) -> None:
    """The no-op rebuild imports neither argparse, pathlib, typing, json nor the engine."""
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\nCOPY a /a\n")
    (context / "a").write_text("a\n")
    old = 1_600_000_000
    os.utime(context / "a", (old, old))
    os.utime(context / "Dockerfile", (old, old))
    os.utime(context, (old, old))
    env = {**os.environ, "DOCKYARD_ROOT": str(tmp_path / "store")}
    command = [sys.executable, "-m", "dockyard", "build", "-q", "-t", "quick:1", str(context)]
    first = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    probe = (
        "import runpy, sys\n"
        f"sys.argv = {['dockyard', *command[3:]]!r}\n"
        "try:\n"
        "    runpy.run_module('dockyard', run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        "heavy = sorted(m for m in ('argparse', 'pathlib', 'typing', 'json', 're',\n"
        "    'dockyard.store', 'dockyard.plan', 'dockyard.solver.build') if m in sys.modules)\n"
        "print('heavy:', heavy, file=sys.stderr)\n"
    )
    # The first no-op refreshes the record (index.json was written just before it).
    time.sleep(0.15)
    for _ in range(2):
        again = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
        )
    assert again.stdout.strip() == first.stdout.strip()
    assert "heavy: []" in again.stderr


def test_the_build_record_is_asked_once_per_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A miss of the hand-read route is not looked up again by the argparse route."""
    from dockyard.cli.main import main
    from dockyard.solver import fastpath

    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\nCOPY a /a\n")
    (context / "a").write_text("a\n")
    monkeypatch.setenv("DOCKYARD_ROOT", str(tmp_path / "store"))
    asked: list[str] = []
    real_lookup = fastpath.lookup

    def counting(root: str, key: str, context_dir: str | None) -> object:
        asked.append(key)
        return real_lookup(root, key, context_dir)

    monkeypatch.setattr(fastpath, "lookup", counting)
    assert main(["build", "-q", "-t", "once:1", str(context)]) == 0
    assert len(asked) == 1  # the hand-read route asked; argparse's did not
    asked.clear()
    assert main(["build", "-q", "--platform", "linux/amd64", "-t", "once:1", str(context)]) == 0
    assert len(asked) == 1  # refused by the hand-read route: argparse's route asks
