"""End to end: dockerfiles built into images in the store, the cache, failures."""

from __future__ import annotations

import json
import os
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import BuildEnv, steps

pytestmark = pytest.mark.root

MakeContext = Callable[..., Path]


def image_config(env: BuildEnv, name: str) -> dict[str, object]:
    from dockyard.store import Store

    with Store.open(env.root) as store:
        return dict(json.loads(store.image(name).config_bytes))


def image_files(env: BuildEnv, name: str) -> dict[str, tarfile.TarInfo]:
    """The image flattened: path -> last tar entry (whiteouts applied)."""
    from dockyard.store import Store

    files: dict[str, tarfile.TarInfo] = {}
    with Store.open(env.root) as store:
        image = store.image(name)
        for layer in image.layers:
            with store.open_layer(layer) as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
                for member in tar:
                    path = member.name.rstrip("/")
                    base = os.path.basename(path)
                    if base == ".wh..wh..opq":
                        parent = os.path.dirname(path) + "/"
                        files = {k: v for k, v in files.items() if not k.startswith(parent)}
                    elif base.startswith(".wh."):
                        gone = os.path.join(os.path.dirname(path), base[4:])
                        files = {
                            k: v
                            for k, v in files.items()
                            if k != gone and not k.startswith(gone + "/")
                        }
                    else:
                        files[path] = member
    return files


def test_busybox_copy_run_gives_an_image(build_env: BuildEnv, make_context: MakeContext) -> None:
    context = make_context(
        f"FROM {build_env.base}\n"
        "WORKDIR /app\n"
        'ENV A=b C="d e"\n'
        "COPY a.txt ./\n"
        'RUN echo hi > /app/x && echo "$A" > /app/env && id -u > /app/uid\n'
        "USER app\n"
        'CMD ["sh", "-c", "echo"]\n',
        {"a.txt": "hello\n"},
    )
    result = build_env.build(context, "-t", "e2e:one")
    assert steps(result.stderr) == {
        "[1/4] FROM docker.io/dockyard-test/busybox:latest": "DONE",
        "[2/4] WORKDIR /app": "DONE",
        "[3/4] COPY a.txt ./": "DONE",
        '[4/4] RUN echo hi > /app/x && echo "$A" > /app/env && id -u > /app/uid': "DONE",
    }
    files = image_files(build_env, "e2e:one")
    assert files["app/a.txt"].size == 6 and files["app/a.txt"].mode == 0o644
    assert files["app/x"].size == 3
    assert files["app/env"].size == 2
    assert "etc/hosts" not in files or files["etc/hosts"].size > 0
    config = image_config(build_env, "e2e:one")
    inner = config["config"]
    assert isinstance(inner, dict)
    assert inner["Env"] == [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "A=b",
        "C=d e",
    ]
    assert inner["WorkingDir"] == "/app"
    assert inner["User"] == "app"
    assert inner["Cmd"] == ["sh", "-c", "echo"]
    history = config["history"]
    assert isinstance(history, list)
    created_by = [item.get("created_by") for item in history[1:]]
    assert created_by == [
        "WORKDIR /app",
        "ENV A=b C=d e",
        "COPY a.txt ./ # buildkit",
        'RUN /bin/sh -c echo hi > /app/x && echo "$A" > /app/env && id -u > /app/uid # buildkit',
        "USER app",
        'CMD ["sh" "-c" "echo"]',
    ]


def test_no_op_rebuild_is_all_cached_and_gives_the_same_image(
    build_env: BuildEnv, make_context: MakeContext
) -> None:
    context = make_context(
        f"FROM {build_env.base}\nCOPY a.txt /a.txt\nRUN cat /a.txt > /b.txt\n",
        {"a.txt": "one\n"},
    )
    first = build_env.build(context, "-t", "e2e:noop", "--iidfile", str(context.parent / "id1"))
    second = build_env.build(context, "-t", "e2e:noop", "--iidfile", str(context.parent / "id2"))
    assert set(steps(first.stderr).values()) == {"DONE"}
    after = steps(second.stderr)
    assert after.pop("[1/3] FROM docker.io/dockyard-test/busybox:latest") == "DONE"
    assert set(after.values()) == {"CACHED"}
    assert (context.parent / "id1").read_text() == (context.parent / "id2").read_text()


def test_files_not_copied_or_ignored_do_not_invalidate(
    build_env: BuildEnv, make_context: MakeContext
) -> None:
    context = make_context(
        f"FROM {build_env.base}\nCOPY . /src\nRUN ls /src > /listing\n",
        {"a.txt": "a", ".dockerignore": "ignored.txt\nlogs\n", "ignored.txt": "x", "logs/1": "l"},
    )
    build_env.build(context, "-t", "e2e:ignore")
    (context / "ignored.txt").write_text("changed")
    (context / "logs" / "2").write_text("new log")
    again = steps(build_env.build(context, "-t", "e2e:ignore").stderr)
    assert again["[2/3] COPY . /src"] == "CACHED"
    assert again["[3/3] RUN ls /src > /listing"] == "CACHED"
    (context / "a.txt").write_text("changed")
    changed = steps(build_env.build(context, "-t", "e2e:ignore").stderr)
    assert changed["[2/3] COPY . /src"] == "DONE"
    assert changed["[3/3] RUN ls /src > /listing"] == "DONE"


def test_uncopied_file_keeps_cache(build_env: BuildEnv, make_context: MakeContext) -> None:
    context = make_context(
        f"FROM {build_env.base}\nCOPY a.txt /a\nRUN true\n", {"a.txt": "a", "other.txt": "o"}
    )
    build_env.build(context)
    (context / "other.txt").write_text("different")
    assert set(steps(build_env.build(context).stderr).values()) == {"DONE", "CACHED"}
    assert steps(build_env.build(context).stderr)["[2/3] COPY a.txt /a"] == "CACHED"


def test_build_arg_invalidates_only_from_its_first_use(
    build_env: BuildEnv, make_context: MakeContext
) -> None:
    context = make_context(
        f"FROM {build_env.base}\n"
        "RUN echo before > /before\n"
        "ARG VERSION=1\n"
        "RUN echo unrelated > /unrelated\n"
        "RUN echo $VERSION > /version\n"
        "RUN echo after > /after\n"
    )
    build_env.build(context, "--build-arg", "VERSION=1")
    result = steps(build_env.build(context, "--build-arg", "VERSION=2").stderr)
    assert result["[2/5] RUN echo before > /before"] == "CACHED"
    # BuildKit puts every ARG in effect into the environment of later RUN steps, so the
    # first RUN after the ARG is where a changed value starts to count.
    assert result["[3/5] RUN echo unrelated > /unrelated"] == "DONE"
    assert result["[4/5] RUN echo $VERSION > /version"] == "DONE"
    assert result["[5/5] RUN echo after > /after"] == "DONE"


def test_failing_run_reports_step_line_command_and_output(
    build_env: BuildEnv, make_context: MakeContext
) -> None:
    from dockyard.store import Store

    context = make_context(
        f"FROM {build_env.base}\nRUN echo ok > /ok\nRUN echo first line; echo boom >&2; exit 3\n"
    )
    with Store.open(build_env.root) as store:
        before = sorted(str(image.id) for image in store.images())
    result = build_env.build(context, "-t", "e2e:fail", check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "Dockerfile:3" in result.stderr
    assert "exit code: 3" in result.stderr
    assert '"/bin/sh -c echo first line; echo boom >&2; exit 3"' in result.stderr
    assert "boom" in result.stderr.split("error:", 1)[1]
    with Store.open(build_env.root) as store:
        assert sorted(str(image.id) for image in store.images()) == before
    assert list((build_env.root / "builds").iterdir()) == []
    mounts = Path("/proc/self/mountinfo").read_text()
    assert str(build_env.root) not in mounts


def test_missing_base_image_names_the_ways_to_get_it(
    build_env: BuildEnv, make_context: MakeContext
) -> None:
    context = make_context("FROM nosuchimage:1\nRUN true\n")
    result = build_env.build(context, check=False)
    assert result.returncode == 1
    assert "nosuchimage:1" in result.stderr
    assert "dockyard load" in result.stderr and "bootstrap" in result.stderr


def test_multistage_target_and_copy_from(build_env: BuildEnv, make_context: MakeContext) -> None:
    context = make_context(
        f"FROM {build_env.base} AS builder\n"
        "RUN mkdir /out && echo built > /out/artifact\n"
        f"FROM {build_env.base} AS unused\n"
        "RUN exit 1\n"
        "FROM scratch\n"
        "COPY --from=builder /out/artifact /artifact\n"
    )
    result = build_env.build(context, "-t", "e2e:multi")
    names = steps(result.stderr)
    assert not any("unused" in name for name in names)
    files = image_files(build_env, "e2e:multi")
    assert set(files) == {"artifact"}
    partial = build_env.build(context, "-t", "e2e:builder", "--target", "builder")
    assert "stage-2" not in partial.stderr
    assert "out/artifact" in image_files(build_env, "e2e:builder")


def test_run_heredocs(build_env: BuildEnv, make_context: MakeContext) -> None:
    context = make_context(
        f"FROM {build_env.base}\n"
        "RUN <<EOF\necho one > /one\necho two >> /one\nEOF\n"
        "RUN <<EOF\n#!/bin/sh\necho script $0 > /script\nEOF\n"
        "RUN <<EOF sh -c 'cat > /piped'\npiped $HOME\nEOF\n"
    )
    build_env.build(context, "-t", "e2e:heredoc")
    files = image_files(build_env, "e2e:heredoc")
    assert files["one"].size == len("one\ntwo\n")
    assert files["script"].size == len("script /dev/pipes/EOF\n")
    assert files["piped"].size == len("piped /root\n")


def _age(context: Path) -> None:
    """Make the context's timestamps old: the no-op record refuses racy (fresh) files."""
    for path in [context, *context.rglob("*")]:
        os.utime(path, (1_600_000_000, 1_600_000_000), follow_symlinks=False)


def test_no_op_record_is_invalidated_by_every_input(
    build_env: BuildEnv, make_context: MakeContext, tmp_path: Path
) -> None:
    context = make_context(
        f"FROM {build_env.base}\nCOPY src /src\nRUN cat /src/a > /copy\n",
        {"src/a": "one\n", "other": "x"},
    )
    _age(context)
    first = build_env.build(context, "-t", "e2e:fast", "-q").stdout.strip()
    records = list((build_env.root / "buildcache" / "records").iterdir())
    assert len(records) == 1
    again = build_env.build(context, "-t", "e2e:fast", "-q").stdout.strip()
    assert again == first
    # A changed copied file: the COPY runs again.
    time.sleep(0.2)
    (context / "src" / "a").write_text("two\n")
    changed = build_env.build(context, "-t", "e2e:fast")
    assert steps(changed.stderr)["[2/3] COPY src /src"] == "DONE"
    # A file added to a copied directory.
    _age(context)
    build_env.build(context, "-t", "e2e:fast")
    (context / "src" / "new").write_text("new\n")
    added = build_env.build(context, "-t", "e2e:fast")
    assert steps(added.stderr)["[2/3] COPY src /src"] == "DONE"
    # The image's name moved away: the build names the image again.
    _age(context)
    expected = build_env.build(context, "-t", "e2e:fast", "-q").stdout.strip()
    build_env.build(context, "-t", "e2e:fast", "-q")
    build_env.dockyard("tag", build_env.base, "e2e:fast")
    result = build_env.build(context, "-t", "e2e:fast", "-q").stdout.strip()
    assert result == expected
    from dockyard.store import Store

    with Store.open(build_env.root) as store:
        assert str(store.image("e2e:fast").id) == expected


def test_dockerfile_and_context_from_stdin_and_containerfile(
    build_env: BuildEnv, make_context: MakeContext, tmp_path: Path
) -> None:
    import io
    import subprocess
    import sys

    dockerfile = f"FROM {build_env.base}\nRUN echo stdin > /from-stdin\n"
    done = subprocess.run(
        [sys.executable, "-m", "dockyard", "build", "-q", "-t", "e2e:stdin", "-"],
        input=dockerfile.encode(),
        env=build_env.env(),
        capture_output=True,
        check=True,
    )
    assert done.stdout.decode().startswith("sha256:")
    assert "from-stdin" in image_files(build_env, "e2e:stdin")

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in {
            "Dockerfile": f"FROM {build_env.base}\nCOPY a.txt /a.txt\n",
            "a.txt": "from tar\n",
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(text)
            archive.addfile(info, io.BytesIO(text.encode()))
    subprocess.run(
        [sys.executable, "-m", "dockyard", "build", "-q", "-t", "e2e:tar", "-"],
        input=buffer.getvalue(),
        env=build_env.env(),
        capture_output=True,
        check=True,
    )
    assert image_files(build_env, "e2e:tar")["a.txt"].size == len("from tar\n")

    context = make_context(f"FROM {build_env.base}\n", {"b.txt": "b"})
    (context / "Dockerfile").unlink()
    (context / "Containerfile").write_text(f"FROM {build_env.base}\nCOPY b.txt /b.txt\n")
    build_env.build(context, "-t", "e2e:containerfile")
    assert "b.txt" in image_files(build_env, "e2e:containerfile")
    outside = tmp_path / "elsewhere.Dockerfile"
    outside.write_text(f"FROM {build_env.base}\nCOPY b.txt /c.txt\n")
    build_env.build(context, "-t", "e2e:dash-f", "-f", str(outside))
    assert "c.txt" in image_files(build_env, "e2e:dash-f")


def test_source_date_epoch_gives_reproducible_images(
    build_env: BuildEnv, make_context: MakeContext, base_store: Path, tmp_path: Path
) -> None:
    import subprocess

    context = make_context(
        f"FROM {build_env.base}\nCOPY a.txt /a.txt\nRUN echo hi > /now && mkdir /made\n",
        {"a.txt": "a\n"},
    )
    other_root = tmp_path / "other-root"
    subprocess.run(["cp", "-a", str(base_store), str(other_root)], check=True)
    other = BuildEnv(other_root, build_env.base)
    first = build_env.build(context, "-q", "--build-arg", "SOURCE_DATE_EPOCH=1700000000")
    time.sleep(1.1)
    second = other.build(context, "-q", "--build-arg", "SOURCE_DATE_EPOCH=1700000000")
    assert first.stdout.strip() == second.stdout.strip()
    config = image_config(build_env, first.stdout.strip())
    assert config["created"] == "2023-11-14T22:13:20Z"


def test_secret_mount_is_read_but_never_stored(
    build_env: BuildEnv, make_context: MakeContext, tmp_path: Path
) -> None:
    secret = tmp_path / "token"
    secret.write_text("s3cr3t")
    context = make_context(
        f"FROM {build_env.base}\n"
        "RUN --mount=type=secret,id=token wc -c < /run/secrets/token > /length\n"
        "RUN --mount=type=secret,id=token,target=/tok,required=true cat /tok | wc -c > /l2\n"
    )
    build_env.build(context, "-t", "e2e:secret", "--secret", f"id=token,src={secret}")
    files = image_files(build_env, "e2e:secret")
    assert files["length"].size == len("6\n")
    assert "run/secrets/token" not in files or files["run/secrets/token"].size == 0
    from dockyard.store import Store

    with Store.open(build_env.root) as store:
        for layer in store.image("e2e:secret").layers:
            with store.open_layer(layer) as stream:
                assert b"s3cr3t" not in stream.read()
    required = make_context(
        f"FROM {build_env.base}\nRUN --mount=type=secret,id=token,required=true true\n"
    )
    missing = build_env.build(required, check=False)
    assert missing.returncode == 1
    assert "secret token not found" in missing.stderr


def test_cache_mount_persists_across_builds(build_env: BuildEnv, make_context: MakeContext) -> None:
    context = make_context(
        f"FROM {build_env.base}\n"
        "RUN --mount=type=cache,target=/cache echo run >> /cache/log && cp /cache/log /seen\n"
    )
    build_env.build(context, "-t", "e2e:cache1", "--no-cache")
    build_env.build(context, "-t", "e2e:cache2", "--no-cache")
    assert image_files(build_env, "e2e:cache1")["seen"].size == len("run\n")
    assert image_files(build_env, "e2e:cache2")["seen"].size == len("run\nrun\n")
    assert "cache/log" not in image_files(build_env, "e2e:cache2")


def test_output_writes_a_docker_archive_with_the_names(
    build_env: BuildEnv, make_context: MakeContext, tmp_path: Path
) -> None:
    context = make_context(f"FROM {build_env.base}\nRUN echo x > /x\n")
    dest = tmp_path / "image.tar"
    build_env.build(context, "-t", "e2e:out", "--output", f"type=docker,dest={dest}")
    with tarfile.open(dest) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest[0]["RepoTags"] == ["e2e:out"]
    assert len(manifest[0]["Layers"]) == 2
