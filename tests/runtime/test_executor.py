"""The build executor under real runc, over a busybox root file system."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dockyard.errors import ContainerStartError
from dockyard.runtime import paths
from dockyard.runtime.executor import cleanup_stale, run_process
from dockyard.runtime.runc import list_containers
from dockyard.runtime.spec import MountSpec, ProcessSpec, Resources

from .helpers import mounts_under

pytestmark = pytest.mark.root


def sh(script: str, **fields: object) -> ProcessSpec:
    return ProcessSpec(args=("/bin/sh", "-c", script), **fields)  # type: ignore[arg-type]


def run_capture(rootfs: Path, process: ProcessSpec, **options: object) -> tuple[int, str, str]:
    out: list[bytes] = []
    err: list[bytes] = []
    status = run_process(rootfs, process, stdout=out.append, stderr=err.append, **options)  # type: ignore[arg-type]
    return status.exit_code, b"".join(out).decode(), b"".join(err).decode()


def assert_nothing_left(root: Path) -> None:
    state = paths.runc_state_root(root)
    assert list_containers(state) == []
    bundles = paths.bundles_dir(root)
    assert not bundles.exists() or list(bundles.iterdir()) == []
    assert mounts_under(root) == []


def test_exit_code_and_output_streams(rootfs: Path, root: Path) -> None:
    code, out, err = run_capture(rootfs, sh("echo out; echo err >&2; exit 7"))
    assert (code, out, err) == (7, "out\n", "err\n")
    assert_nothing_left(root)


def test_output_to_file_descriptor(rootfs: Path, root: Path, tmp_path: Path) -> None:
    log = tmp_path / "log"
    with open(log, "wb") as file:
        status = run_process(
            rootfs, sh("echo direct; echo e >&2"), stdout=file.fileno(), stderr=file.fileno()
        )
    assert status.exit_code == 0
    assert sorted(log.read_text().split()) == ["direct", "e"]


def test_killed_by_signal_gives_128_plus_signal(rootfs: Path, root: Path) -> None:
    # pid 1 ignores signals from inside, so the shell runs a child that kills itself.
    code, _, _ = run_capture(rootfs, sh("sh -c 'kill -9 $$'; exit $?"))
    assert code == 137


def test_command_not_found_is_127(rootfs: Path, root: Path) -> None:
    with pytest.raises(ContainerStartError) as raised:
        run_process(rootfs, ProcessSpec(args=("nosuchcommand",)))
    assert raised.value.exit_code == 127
    assert 'exec: "nosuchcommand": executable file not found in $PATH' in raised.value.message
    assert_nothing_left(root)


def test_not_executable_is_126(rootfs: Path, root: Path) -> None:
    (rootfs / "script").write_text("#!/bin/sh\necho hi\n")
    with pytest.raises(ContainerStartError) as raised:
        run_process(rootfs, ProcessSpec(args=("/script",)))
    assert raised.value.exit_code == 126
    assert_nothing_left(root)


def test_process_identity_env_and_cwd(rootfs: Path, root: Path) -> None:
    (rootfs / "work").mkdir()
    process = sh(
        'id -u; id -g; id -G; pwd; echo "$GREETING"',
        env=("PATH=/bin", "GREETING=hello world"),
        cwd="/work",
        uid=1000,
        gid=1000,
        additional_gids=(1500,),
    )
    code, out, _ = run_capture(rootfs, process)
    assert code == 0
    assert out.splitlines() == ["1000", "1000", "1000 1500", "/work", "hello world"]


def test_root_has_default_capabilities_user_has_none(rootfs: Path, root: Path) -> None:
    script = "grep CapEff /proc/self/status"
    _, as_root, _ = run_capture(rootfs, sh(script))
    _, as_user, _ = run_capture(rootfs, sh(script, uid=1000, gid=1000))
    assert as_root.split()[1] == "00000000a80425fb"  # Docker's 14 default capabilities
    assert as_user.split()[1] == "0000000000000000"


def test_build_sandbox_hostname_hosts_and_resolv(rootfs: Path, root: Path) -> None:
    code, out, _ = run_capture(rootfs, sh("hostname; cat /etc/hosts; cat /etc/resolv.conf"))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "buildkitsandbox"
    assert "127.0.0.1\tlocalhost buildkitsandbox" in lines
    assert any(line.startswith("nameserver") for line in lines)


def test_network_none_has_only_loopback(rootfs: Path, root: Path) -> None:
    _, out, _ = run_capture(rootfs, sh("cat /proc/net/dev"), network="none")
    interfaces = [line.split(":")[0].strip() for line in out.splitlines()[2:]]
    assert interfaces == ["lo"]
    _, host_out, _ = run_capture(rootfs, sh("cat /proc/net/dev"), network="host")
    assert len(host_out.splitlines()) > len(out.splitlines())


def test_kernel_filesystems_and_masked_paths(rootfs: Path, root: Path) -> None:
    script = (
        "test -c /dev/null && test -d /dev/pts && test -d /dev/shm && "
        "test -f /proc/self/status && test -d /sys/class && "
        "! test -s /proc/kcore && ! echo 1 > /proc/sysrq-trigger && "
        "! touch /sys/x && echo ok"
    )
    code, out, err = run_capture(rootfs, sh(script))
    assert (code, out) == (0, "ok\n"), err


def test_bind_mounts_read_only_and_read_write(rootfs: Path, root: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "in").write_text("from host")
    mounts = [
        MountSpec.bind(shared, "/rw"),
        MountSpec.bind(shared, "/ro", readonly=True),
        MountSpec.tmpfs("/scratch"),
    ]
    script = (
        "cat /rw/in; echo x > /rw/out; echo y > /ro/nope; echo z > /scratch/t && cat /scratch/t"
    )
    code, out, err = run_capture(rootfs, sh(script), mounts=mounts)
    assert code == 0
    assert out == "from hostz\n"
    assert "Read-only file system" in err
    assert (shared / "out").read_text() == "x\n"
    assert not (shared / "nope").exists()
    assert mounts_under(tmp_path) == []


def test_readonly_rootfs(rootfs: Path, root: Path) -> None:
    code, _, err = run_capture(rootfs, sh("touch /newfile"), readonly_rootfs=True)
    assert code != 0 and "Read-only file system" in err
    assert not (rootfs / "newfile").exists()


def test_writes_land_in_rootfs(rootfs: Path, root: Path) -> None:
    code, _, _ = run_capture(rootfs, sh("echo built > /artifact"))
    assert code == 0
    assert (rootfs / "artifact").read_text() == "built\n"


def test_pids_limit(rootfs: Path, root: Path) -> None:
    script = "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 5 & done; echo started"
    code, out, err = run_capture(rootfs, sh(script), resources=Resources(pids_limit=5))
    assert "can't fork" in err
    assert (code, out) == (2, "")
    code, out, _ = run_capture(rootfs, sh(script), resources=Resources(pids_limit=20))
    assert (code, out) == (0, "started\n")


def test_memory_limit_oom_kill(rootfs: Path, root: Path) -> None:
    # `tail /dev/zero` keeps one ever-growing line in memory.
    status = run_process(
        rootfs, sh("tail /dev/zero"), resources=Resources(memory_bytes=32 * 1024 * 1024)
    )
    assert status.oom_killed
    assert status.exit_code == 137


_INTERRUPTED_CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from dockyard.runtime.executor import run_process
    from dockyard.runtime.spec import ProcessSpec
    def seen(chunk):
        sys.stdout.buffer.write(chunk); sys.stdout.flush()
    run_process(Path(sys.argv[1]), ProcessSpec(args=("sh", "-c", "echo running; sleep 317")),
                stdout=seen)
    """
)


def _start_child(rootfs: Path) -> subprocess.Popen[bytes]:
    child = subprocess.Popen(
        [sys.executable, "-c", _INTERRUPTED_CHILD, str(rootfs)], stdout=subprocess.PIPE
    )
    assert child.stdout is not None
    assert child.stdout.readline() == b"running\n"
    return child


def _sleepers() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes() == b"sleep\x00317\x00":
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _no_sleepers_soon() -> list[int]:
    """The container's processes, once the kernel had up to 10 s to finish killing them
    (SIGKILL reaches the processes of a dying PID namespace asynchronously)."""
    deadline = time.monotonic() + 10
    while _sleepers() and time.monotonic() < deadline:
        time.sleep(0.05)
    return _sleepers()


def test_keyboard_interrupt_kills_and_cleans(rootfs: Path, root: Path) -> None:
    child = _start_child(rootfs)
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=30) != 0
    assert_nothing_left(root)
    assert _no_sleepers_soon() == []


def test_cleanup_stale_after_kill_9(rootfs: Path, root: Path) -> None:
    child = _start_child(rootfs)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert len(list_containers(paths.runc_state_root(root))) == 1
    removed = cleanup_stale()
    assert len(removed) == 1
    assert _no_sleepers_soon() == []
    assert_nothing_left(root)


def test_cleanup_stale_keeps_live_containers(rootfs: Path, root: Path) -> None:
    child = _start_child(rootfs)
    try:
        assert cleanup_stale() == []
        assert len(list_containers(paths.runc_state_root(root))) == 1
    finally:
        child.send_signal(signal.SIGINT)
        child.wait(timeout=30)
    assert_nothing_left(root)
