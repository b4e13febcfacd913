"""Pure pieces of the runtime: -p, -v, env merging, sizes, signals, users, the spec."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from dockyard.errors import RuntimeError_, UnknownUserError, UsageError
from dockyard.fs.passwd import ExecUser, resolve_exec_user
from dockyard.runtime.containers import ImageInfo, RunOptions, merge_env, parse_signal, parse_size
from dockyard.runtime.containers import _command as command_of
from dockyard.runtime.etcfiles import resolv_conf
from dockyard.runtime.ports import PortMapping, parse_publish
from dockyard.runtime.spec import ProcessSpec, SpecOptions, build_spec
from dockyard.runtime.volumes import parse_volume


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("80", PortMapping("", 0, 80, "tcp")),
        ("8080:80", PortMapping("", 8080, 80, "tcp")),
        ("127.0.0.1:8080:80", PortMapping("127.0.0.1", 8080, 80, "tcp")),
        ("127.0.0.1::80", PortMapping("127.0.0.1", 0, 80, "tcp")),
        ("53:53/udp", PortMapping("", 53, 53, "udp")),
        ("[::1]:8080:80/tcp", PortMapping("::1", 8080, 80, "tcp")),
    ],
)
def test_parse_publish(spec: str, expected: PortMapping) -> None:
    assert parse_publish(spec) == expected


@pytest.mark.parametrize(
    "spec", ["", "abc", "0", "70000", "a:80", "1.2.3:80:80", "80/sctp", "1:2:3:4", "[::1]80:80"]
)
def test_parse_publish_rejects(spec: str) -> None:
    with pytest.raises(UsageError):
        parse_publish(spec)


def test_parse_volume_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_ROOT", str(tmp_path / "store"))
    bind = parse_volume(f"{tmp_path}:/data:ro")
    assert (bind.type, bind.source, bind.destination, bind.readonly) == (
        "bind", str(tmp_path), "/data", True
    )  # fmt: skip
    named = parse_volume("cache:/var/cache/")
    assert (named.type, named.name, named.destination, named.anonymous) == (
        "volume", "cache", "/var/cache", False
    )  # fmt: skip
    assert Path(named.source) == tmp_path / "store" / "volumes" / "cache" / "_data"
    anonymous = parse_volume("/scratch")
    assert anonymous.anonymous and Path(anonymous.source).is_dir()
    for bad in ("name:relative", "a:/b:rx", "bad name!:/x", ":/x"):
        with pytest.raises(UsageError):
            parse_volume(bad)
    with pytest.raises(RuntimeError_, match="bind source path does not exist"):
        parse_volume(f"{tmp_path}/missing:/x")


def test_merge_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FROM_HOST", "host value")
    monkeypatch.delenv("NOT_SET", raising=False)
    merged = merge_env(["A=1", "B=2"], ["B=3", "FROM_HOST", "NOT_SET", "C="])
    assert merged == ["A=1", "B=3", "FROM_HOST=host value", "C="]


def test_sizes_and_signals() -> None:
    assert parse_size("256m") == 256 * 1024**2
    assert parse_size("1g") == 1024**3
    assert parse_size("512k") == 512 * 1024
    assert parse_size("100") == 100
    assert parse_size("64mb") == 64 * 1024**2
    with pytest.raises(UsageError):
        parse_size("lots")
    assert parse_signal("SIGTERM") == signal.SIGTERM
    assert parse_signal("usr1") == signal.SIGUSR1
    assert parse_signal("9") == 9
    with pytest.raises(UsageError):
        parse_signal("SIGNOPE")


def test_entrypoint_and_cmd_like_docker() -> None:
    image = ImageInfo("i", "", (), entrypoint=("/entry",), cmd=("default",))
    assert command_of(image, RunOptions()) == ("/entry", "default")
    assert command_of(image, RunOptions(command=("x", "y"))) == ("/entry", "x", "y")
    assert command_of(image, RunOptions(entrypoint="sh")) == ("sh",)
    assert command_of(image, RunOptions(entrypoint="sh", command=("-c", "true"))) == (
        "sh", "-c", "true"
    )  # fmt: skip
    assert command_of(image, RunOptions(entrypoint="", command=("ls",))) == ("ls",)
    with pytest.raises(UsageError, match="no command specified"):
        command_of(ImageInfo("i", "", ()), RunOptions())


def test_resolve_user_from_the_image_files(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"
    )
    (etc / "group").write_text("root:x:0:\napp:x:1000:\nextra:x:1500:app,other\nstaff:x:50:app\n")
    assert resolve_exec_user(tmp_path, "") == ExecUser(0, 0, (), "/root")
    assert resolve_exec_user(tmp_path, "app") == ExecUser(1000, 1000, (1500, 50), "/home/app")
    assert resolve_exec_user(tmp_path, "1000") == ExecUser(1000, 1000, (1500, 50), "/home/app")
    assert resolve_exec_user(tmp_path, "app:staff") == ExecUser(1000, 50, (), "/home/app")
    assert resolve_exec_user(tmp_path, "4242:4343") == ExecUser(4242, 4343, (), "/")
    with pytest.raises(UnknownUserError, match="unable to find user ghost"):
        resolve_exec_user(tmp_path, "ghost")
    with pytest.raises(UnknownUserError, match="unable to find group nogroup"):
        resolve_exec_user(tmp_path, "app:nogroup")


def test_user_files_behind_a_symlink_stay_in_the_root(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    # An absolute symlink means the image's /elsewhere, never the host's.
    (tmp_path / "etc" / "passwd").symlink_to("/elsewhere/passwd")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "passwd").write_text("svc:x:77:77::/srv:/bin/sh\n")
    assert resolve_exec_user(tmp_path, "svc").uid == 77


def test_resolv_conf_drops_loopback_nameservers_in_a_private_namespace(tmp_path: Path) -> None:
    source = tmp_path / "resolv.conf"
    source.write_text("nameserver 127.0.0.53\nsearch example.org\n")
    private = resolv_conf(False, source)
    assert "127.0.0.53" not in private
    assert "search example.org" in private and "nameserver 8.8.8.8" in private
    assert resolv_conf(True, source) == source.read_text()


def test_spec_defaults() -> None:
    spec = build_spec(ProcessSpec(args=("true",)), SpecOptions(rootfs=Path("/r"), network="none"))
    namespaces = [ns["type"] for ns in spec["linux"]["namespaces"]]
    assert namespaces == ["pid", "ipc", "uts", "mount", "network"]
    destinations = [mount["destination"] for mount in spec["mounts"]]
    assert "/run" not in destinations
    assert destinations[:3] == ["/proc", "/dev", "/dev/pts"]
    assert "/proc/kcore" in spec["linux"]["maskedPaths"]
    assert "/proc/sys" in spec["linux"]["readonlyPaths"]
    assert len(spec["process"]["capabilities"]["bounding"]) == 14
    host = build_spec(ProcessSpec(args=("true",)), SpecOptions(rootfs=Path("/r"), network="host"))
    assert "network" not in [ns["type"] for ns in host["linux"]["namespaces"]]
