"""Published ports: the proxy into the container's network namespace, TCP and UDP."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from pathlib import Path

import pytest

from .helpers import ECHO_SERVER_C, compile_static, listener_probe, store_image
from .test_detached import wait_for
from .test_run_cli import assert_clean, dockyard

pytestmark = pytest.mark.root


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def connectable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"ping\n")
            return sock.recv(5) == b"ping\n"
    except OSError:
        return False


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def supervisor_pid(root: Path, name: str) -> int:
    import json

    for directory in (root / "containers").iterdir():
        record = directory / "container.json"
        if record.is_file() and json.loads(record.read_text())["name"] == name:
            state = json.loads((directory / "state.json").read_text())
            return int(state["supervisor"].split(":")[0])
    raise AssertionError(f"no container {name}")


def _echo_roundtrip(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        received = bytearray()

        def reader() -> None:
            while chunk := sock.recv(1 << 20):
                received.extend(chunk)

        thread = threading.Thread(target=reader)
        thread.start()
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        thread.join(60)
        return bytes(received)


@pytest.fixture
def echo_image(rootfs: Path, root: Path) -> str:
    compile_static(ECHO_SERVER_C, rootfs / "bin" / "echo-server")
    store_image(root, "echo", rootfs, env=("PATH=/bin",))
    return "echo"


def test_tcp_proxy_under_load(echo_image: str, root: Path) -> None:
    port = free_port()
    result = dockyard("run", "-d", "--name", "echo", "-p", f"127.0.0.1:{port}:7000",
                      echo_image, "echo-server", "tcp", "7000")  # fmt: skip
    assert result.returncode == 0, result.stderr
    wait_for(lambda: connectable(port))
    pid = supervisor_pid(root, "echo")
    baseline = open_fds(pid)

    # 200 concurrent connections, each echoing its own payload.
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(200)]
    for index, sock in enumerate(sockets):
        sock.sendall(f"connection {index}\n".encode())
    for index, sock in enumerate(sockets):
        expected = f"connection {index}\n".encode()
        got = b""
        while len(got) < len(expected):
            chunk = sock.recv(100)
            assert chunk, f"connection {index} closed early"
            got += chunk
        assert got == expected
    for sock in sockets:
        sock.close()

    # 50 MB through the proxy and back, byte for byte.
    payload = os.urandom(50 * 1024 * 1024)
    echoed = _echo_roundtrip(port, payload)
    assert len(echoed) == len(payload)
    assert hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest()

    wait_for(lambda: open_fds(pid) <= baseline)
    assert dockyard("stop", "-t", "1", "echo").returncode == 0
    # The port is free again.
    with listener_probe() as again:
        again.bind(("127.0.0.1", port))
    assert dockyard("rm", "echo").returncode == 0
    assert_clean(root)


def test_port_published_on_all_addresses_and_freed(busybox: str, root: Path) -> None:
    port = free_port()
    result = dockyard("run", "-d", "--rm", "--name", "p", "-p", f"{port}:7000",
                      busybox, "nc", "-ll", "-p", "7000", "-e", "cat")  # fmt: skip
    assert result.returncode == 0, result.stderr
    wait_for(lambda: connectable(port))
    assert f"0.0.0.0:{port}->7000/tcp" in dockyard("ps").stdout
    in_use = dockyard("run", "--rm", "-p", f"{port}:80", busybox, "true")
    assert in_use.returncode != 0
    assert "address already in use" in in_use.stderr and "Traceback" not in in_use.stderr
    assert dockyard("stop", "-t", "1", "p").returncode == 0
    wait_for(lambda: dockyard("ps", "-aq").stdout == "")
    with listener_probe() as again:
        again.bind(("0.0.0.0", port))
    assert_clean(root)


def test_publish_all_exposed_ports(rootfs: Path, root: Path) -> None:
    store_image(root, "exposing", rootfs, env=("PATH=/bin",), exposed_ports=("7000/tcp",))
    result = dockyard("run", "-d", "-P", "--name", "all", "exposing",
                      "nc", "-ll", "-p", "7000", "-e", "cat")  # fmt: skip
    assert result.returncode == 0, result.stderr
    import json

    ports = json.loads(dockyard("container", "inspect", "all").stdout)[0]["NetworkSettings"]
    host_port = int(ports["Ports"]["7000/tcp"][0]["HostPort"])
    assert host_port > 0
    wait_for(lambda: connectable(host_port))
    assert dockyard("rm", "-f", "all").returncode == 0


def test_udp_echo(echo_image: str, root: Path) -> None:
    port = free_port()
    result = dockyard("run", "-d", "--name", "u", "-p", f"127.0.0.1:{port}:9000/udp",
                      echo_image, "echo-server", "udp", "9000")  # fmt: skip
    assert result.returncode == 0, result.stderr
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(0.5)
        replies: list[bytes] = []

        def answered() -> bool:
            client.sendto(b"datagram", ("127.0.0.1", port))
            try:
                replies.append(client.recv(100))
            except TimeoutError:
                return False
            return True

        wait_for(answered)
        assert replies[-1] == b"datagram"
        for size in (1, 1000, 60000):
            data = os.urandom(size)
            client.sendto(data, ("127.0.0.1", port))
            assert client.recv(65535) == data
    assert dockyard("rm", "-f", "u").returncode == 0
    assert_clean(root)
