"""Rebuilds after context edits answered from the build record's chain (solver/rebuild.py)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from .conftest import BuildEnv, steps
from .test_build_e2e import MakeContext, _age, image_files

pytestmark = pytest.mark.root

DOCKERFILE = "FROM {base}\nWORKDIR /app\nCOPY a.txt ./\nRUN cat a.txt > copy.txt\nCOPY . .\n"


def _rebuild(env: BuildEnv, context: Path, *tags: str) -> tuple[str | None, str]:
    """The chain rebuild alone (no fallback): its image id or None, and its progress."""
    from dockyard.solver.build import BuildRequest
    from dockyard.solver.progress import Progress
    from dockyard.solver.rebuild import rebuild
    from dockyard.store import Store

    output = io.StringIO()
    request = BuildRequest(
        dockerfile=(context / "Dockerfile").read_bytes(),
        context_dir=context.resolve(),
        dockerfile_path=(context / "Dockerfile").resolve(),
        tags=tags,
    )
    with Store.open(env.root) as store:
        result = rebuild(store, request, Progress("plain", output))
    return (result.image_id if result is not None else None), output.getvalue()


def _full_rebuild_id(env: BuildEnv, context: Path, *tags: str) -> str:
    """The same build through the planner (the records are removed first)."""
    shutil.rmtree(env.root / "buildcache" / "records")
    args = [arg for tag in tags for arg in ("-t", tag)]
    return env.build(context, "-q", *args).stdout.strip()


def test_edit_rebuild_runs_only_the_changed_copy_and_gives_the_planned_image(
    build_env: BuildEnv, make_context: MakeContext
) -> None:
    context = make_context(DOCKERFILE.format(base=build_env.base), {"a.txt": "a\n", "b.txt": "b\n"})
    _age(context)
    build_env.build(context, "-t", "re:one")
    (context / "b.txt").write_text("b changed\n")
    image_id, output = _rebuild(build_env, context, "re:one")
    assert image_id is not None
    assert steps(output) == {
        "[1/5] FROM docker.io/dockyard-test/busybox:latest": "DONE",
        "[2/5] WORKDIR /app": "CACHED",
        "[3/5] COPY a.txt ./": "CACHED",
        "[4/5] RUN cat a.txt > copy.txt": "CACHED",
        "[5/5] COPY . .": "DONE",
    }
    assert "naming to re:one done" in output
    files = image_files(build_env, "re:one")
    assert files["app/b.txt"].size == len("b changed\n")
    # The planner, every step cached, commits the very same image (config and layers).
    assert _full_rebuild_id(build_env, context, "re:one") == image_id


def test_edit_rebuild_recognises_a_reverted_file_as_cached(
    build_env: BuildEnv, make_context: MakeContext
) -> None:
    context = make_context(DOCKERFILE.format(base=build_env.base), {"a.txt": "a\n", "b.txt": "b\n"})
    _age(context)
    first = build_env.build(context, "-q", "-t", "re:two").stdout.strip()
    (context / "b.txt").write_text("other\n")
    _age(context)
    assert _rebuild(build_env, context, "re:two")[0] not in (None, first)
    (context / "b.txt").write_text("b\n")
    image_id, output = _rebuild(build_env, context, "re:two")
    assert steps(output)["[5/5] COPY . ."] == "CACHED"
    assert image_id == first


def test_edit_above_a_run_leaves_it_to_the_full_build(
    build_env: BuildEnv, make_context: MakeContext
) -> None:
    context = make_context(DOCKERFILE.format(base=build_env.base), {"a.txt": "a\n", "b.txt": "b\n"})
    _age(context)
    build_env.build(context, "-t", "re:three")
    (context / "a.txt").write_text("a changed\n")
    image_id, output = _rebuild(build_env, context, "re:three")
    assert (image_id, output) == (None, "")
    done = steps(build_env.build(context, "-t", "re:three").stderr)
    assert done["[4/5] RUN cat a.txt > copy.txt"] == "DONE"
    assert image_files(build_env, "re:three")["app/copy.txt"].size == len("a changed\n")


def test_multistage_copy_from_is_not_a_chain(
    build_env: BuildEnv, make_context: MakeContext
) -> None:
    context = make_context(
        f"FROM {build_env.base} AS one\nCOPY a.txt /a\n"
        f"FROM {build_env.base}\nCOPY --from=one /a /a\nCOPY b.txt /b\n",
        {"a.txt": "a\n", "b.txt": "b\n"},
    )
    _age(context)
    build_env.build(context, "-t", "re:four")
    (context / "b.txt").write_text("b changed\n")
    assert _rebuild(build_env, context, "re:four") == (None, "")
    changed = steps(build_env.build(context, "-t", "re:four").stderr)
    assert changed["[stage-1 3/3] COPY b.txt /b"] == "DONE"


def test_a_rebuild_right_after_an_edit_leaves_a_usable_record(
    build_env: BuildEnv, make_context: MakeContext
) -> None:
    context = make_context(DOCKERFILE.format(base=build_env.base), {"a.txt": "a\n", "b.txt": "b\n"})
    _age(context)
    build_env.build(context, "-t", "re:five")
    for text in ("one\n", "two\n", "one\n"):
        # Fresh timestamps: the record marks b.txt to be checked again, not the whole record.
        (context / "b.txt").write_text(text)
        image_id, output = _rebuild(build_env, context, "re:five")
        assert image_id is not None
        assert steps(output)["[4/5] RUN cat a.txt > copy.txt"] == "CACHED"
    assert image_files(build_env, "re:five")["app/b.txt"].size == len("one\n")
