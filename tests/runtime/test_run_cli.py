"""``dockyard run`` and friends through the CLI, with real runc and a stored image."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.runtime import paths
from dockyard.runtime.runc import list_containers

from .helpers import mounts_under, store_image

pytestmark = pytest.mark.root


def dockyard(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dockyard", *args],
        capture_output=True,
        text=True,
        input=input,
        check=False,
        timeout=120,
    )


def assert_clean(root: Path) -> None:
    assert list_containers(paths.runc_state_root(root)) == []
    assert mounts_under(root) == []


def test_exit_code_and_output(busybox: str, root: Path) -> None:
    result = dockyard("run", "--rm", busybox, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert_clean(root)
    assert list(paths.containers_dir(root).iterdir()) in (
        [],
        [paths.containers_dir(root) / ".lock"],
    )


def test_image_cmd_is_the_default(busybox: str, root: Path) -> None:
    result = dockyard("run", "--rm", busybox, input="echo from-stdin\n")
    assert result.returncode == 0
    assert result.stdout == ""  # without -i the shell reads nothing
    result = dockyard("run", "--rm", "-i", busybox, input="echo from-stdin\n")
    assert (result.returncode, result.stdout) == (0, "from-stdin\n")


def test_command_not_found_is_127(busybox: str, root: Path) -> None:
    result = dockyard("run", "--rm", busybox, "foo")
    assert result.returncode == 127
    assert 'exec: "foo": executable file not found in $PATH' in result.stderr
    assert "Traceback" not in result.stderr
    assert_clean(root)


def test_permission_denied_is_126(rootfs: Path, root: Path) -> None:
    (rootfs / "notexec").write_text("#!/bin/sh\n")
    store_image(root, "bb", rootfs, env=("PATH=/bin",))
    result = dockyard("run", "--rm", "bb", "/notexec")
    assert result.returncode == 126
    assert "permission denied" in result.stderr
    assert_clean(root)


def test_unknown_image(root: Path) -> None:
    result = dockyard("run", "--rm", "no-such-image", "true")
    assert result.returncode == 125  # as docker run
    assert "no-such-image" in result.stderr and "Traceback" not in result.stderr


def test_env_precedence(rootfs: Path, root: Path, tmp_path: Path) -> None:
    store_image(root, "envs", rootfs, env=("PATH=/bin", "A=image", "B=image", "C=image"))
    env_file = tmp_path / "env"
    env_file.write_text("# comment\nB=file\nC=file\n")
    result = dockyard(
        "run", "--rm", "--env-file", str(env_file), "-e", "C=cli", "-e", "D=cli",
        "envs", "sh", "-c", 'echo "$A $B $C $D $HOSTNAME"',
    )  # fmt: skip
    words = result.stdout.split()
    assert words[:4] == ["image", "file", "cli", "cli"]
    assert len(words[4]) == 12  # the hostname is the short container id


def test_workdir_user_entrypoint(rootfs: Path, root: Path) -> None:
    store_image(
        root, "cfg", rootfs, env=("PATH=/bin",), entrypoint=("echo", "entry"), cmd=("image-cmd",),
        working_dir="/srv", user="app",
    )  # fmt: skip
    assert dockyard("run", "--rm", "cfg").stdout == "entry image-cmd\n"
    assert dockyard("run", "--rm", "cfg", "mine").stdout == "entry mine\n"
    # An overridden entrypoint drops the image's Cmd.
    result = dockyard("run", "--rm", "--entrypoint", "id", "cfg")
    assert result.stdout.startswith("uid=1000(app) gid=1000(app) groups=1500(extra)")
    result = dockyard("run", "--rm", "--entrypoint", "pwd", "-w", "/made/here", "cfg")
    assert result.stdout == "/made/here\n"
    result = dockyard("run", "--rm", "--entrypoint", "id", "-u", "0:1500", "cfg")
    assert result.stdout.startswith("uid=0(root) gid=1500")
    result = dockyard("run", "--rm", "-u", "ghost", "cfg")
    assert result.returncode != 0 and "unable to find user ghost" in result.stderr
    assert_clean(root)


def test_read_only_and_tmpfs(busybox: str, root: Path) -> None:
    result = dockyard("run", "--rm", "--read-only", "--tmpfs", "/scratch", busybox, "sh", "-c",
                      "touch /scratch/ok && echo ok; touch /nope")  # fmt: skip
    assert result.stdout == "ok\n"
    assert "Read-only file system" in result.stderr
    assert result.returncode == 1


def test_bind_volumes_ro_rw(busybox: str, root: Path, tmp_path: Path) -> None:
    host = tmp_path / "host"
    host.mkdir()
    (host / "in").write_text("hello")
    result = dockyard(
        "run", "--rm", "-v", f"{host}:/rw", "-v", f"{host}:/ro:ro", busybox, "sh", "-c",
        "cat /rw/in; echo x > /rw/out; echo y > /ro/no",
    )  # fmt: skip
    assert result.stdout == "hello"
    assert "Read-only file system" in result.stderr
    assert (host / "out").read_text() == "x\n"
    assert not (host / "no").exists()


def test_missing_bind_source_is_an_error(busybox: str, root: Path, tmp_path: Path) -> None:
    result = dockyard("run", "--rm", "-v", f"{tmp_path}/absent:/x", busybox, "true")
    assert result.returncode == 125
    assert "bind source path does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_named_volume_survives_rm(busybox: str, root: Path) -> None:
    result = dockyard("run", "--name", "writer", "-v", "data:/data", busybox, "sh", "-c",
                      "echo kept > /data/file")  # fmt: skip
    assert result.returncode == 0
    assert dockyard("rm", "writer").returncode == 0
    result = dockyard("run", "--rm", "-v", "data:/data", busybox, "cat", "/data/file")
    assert result.stdout == "kept\n"


def test_image_volume_is_an_anonymous_volume_with_image_content(rootfs: Path, root: Path) -> None:
    (rootfs / "data").mkdir()
    (rootfs / "data" / "seed").write_text("from image")
    os.chown(rootfs / "data", 1000, 1000)
    os.chown(rootfs / "data" / "seed", 1000, 1000)
    store_image(root, "vol", rootfs, env=("PATH=/bin",), volumes=("/data",))
    result = dockyard("run", "--name", "v", "vol", "sh", "-c", "cat /data/seed; echo new > /data/x")
    assert result.stdout == "from image"
    inspect = json.loads(dockyard("container", "inspect", "v").stdout)[0]
    (mount,) = inspect["Mounts"]
    assert mount["destination"] == "/data" and mount["anonymous"]
    assert (Path(mount["source"]) / "x").read_text() == "new\n"
    assert (Path(mount["source"]) / "seed").stat().st_uid == 1000
    assert Path(mount["source"]).stat().st_gid == 1000
    assert (rootfs / "data" / "seed").read_text() == "from image"


def test_memory_limit_oom_visible_in_inspect(busybox: str, root: Path) -> None:
    result = dockyard("run", "--name", "hog", "--memory", "32m", busybox, "tail", "/dev/zero")
    assert result.returncode == 137
    state = json.loads(dockyard("container", "inspect", "hog").stdout)[0]["State"]
    assert state["OOMKilled"] is True
    assert state["ExitCode"] == 137
    generic = json.loads(dockyard("inspect", "hog").stdout)[0]  # images first, then containers
    assert generic["Name"] == "/hog" and generic["State"]["OOMKilled"] is True
    assert dockyard("rm", "hog").returncode == 0
    assert_clean(root)


def test_cpu_and_memory_limits_reach_the_cgroup(busybox: str, root: Path) -> None:
    script = (
        "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us "
        "/sys/fs/cgroup/memory/memory.limit_in_bytes"
    )
    result = dockyard(
        "run", "--rm", "--cpus", "1.5", "--memory", "64m", busybox, "sh", "-c", script
    )
    assert result.stdout.split() == ["150000", "100000", str(64 * 1024 * 1024)]


def test_pids_limit(busybox: str, root: Path) -> None:
    script = "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; echo all-started"
    result = dockyard("run", "--rm", "--pids-limit", "4", busybox, "sh", "-c", script)
    assert "can't fork" in result.stderr
    assert "all-started" not in result.stdout


def test_bad_publish_syntax(busybox: str, root: Path) -> None:
    for spec in ("abc:80", "80:99999", "1.2.3:80:80", "80/sctp", "1:2:3:4"):
        result = dockyard("run", "--rm", "-p", spec, busybox, "true")
        assert result.returncode == 2, spec
        assert "-p" in result.stderr and "Traceback" not in result.stderr
