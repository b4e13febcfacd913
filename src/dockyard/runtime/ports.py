"""Published ports: ``-p`` parsing and the proxy into a container's network namespace.

There is no bridge and no iptables: the proxy listens on the host and, for every
connection (or UDP peer), opens a socket *inside* the container's network namespace
and connects it to the container's loopback. A socket keeps the namespace it was
created in, so one dedicated thread enters the namespace (``setns``; Python 3.11 has
no ``os.setns``) and creates sockets for everybody else.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import ipaddress
import os
import queue
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dockyard.errors import RuntimeError_, UsageError

CLONE_NEWNET = 0x40000000
_HINT = "use -p [IP:]HOST_PORT:CONTAINER_PORT[/tcp|/udp], e.g. -p 8080:80"


@dataclass(frozen=True)
class PortMapping:
    """One ``-p``: host_port 0 means "any free port"."""

    host_ip: str
    host_port: int
    container_port: int
    protocol: str = "tcp"


def _port(text: str, what: str, spec: str, *, allow_zero: bool = False) -> int:
    if not text.isdigit() or not (0 if allow_zero else 1) <= int(text) <= 65535:
        raise UsageError(f"invalid {what} {text!r} in -p {spec!r}", _HINT)
    return int(text)


def parse_publish(spec: str) -> PortMapping:
    """``[IP:][HOST:]CONTAINER[/tcp|udp]`` as Docker reads it (IPv6 in brackets)."""
    body, _, protocol = spec.partition("/")
    protocol = protocol or "tcp"
    if protocol not in ("tcp", "udp"):
        raise UsageError(f"invalid protocol {protocol!r} in -p {spec!r}", _HINT)
    host_ip = ""
    if body.startswith("["):
        address, bracket, body = body[1:].partition("]")
        if not bracket or not body.startswith(":"):
            raise UsageError(f"invalid -p {spec!r}", _HINT)
        host_ip, body = address, body[1:]
        parts = body.split(":")
        if len(parts) != 2:
            raise UsageError(f"invalid -p {spec!r}", _HINT)
        parts = [host_ip, *parts]
    else:
        parts = body.split(":")
    if len(parts) == 1:
        host, container = "", parts[0]
    elif len(parts) == 2:
        host, container = parts
    elif len(parts) == 3:
        host_ip, host, container = parts
    else:
        raise UsageError(f"invalid -p {spec!r}", _HINT)
    if host_ip:
        try:
            ipaddress.ip_address(host_ip)
        except ValueError:
            raise UsageError(f"invalid IP address {host_ip!r} in -p {spec!r}", _HINT) from None
    container_port = _port(container, "container port", spec)
    host_port = _port(host, "host port", spec, allow_zero=True) if host else 0
    return PortMapping(host_ip, host_port, container_port, protocol)


def bind_listener(mapping: PortMapping) -> socket.socket:
    """The host side of a published port; raises a clean error if it is taken."""
    kind = socket.SOCK_STREAM if mapping.protocol == "tcp" else socket.SOCK_DGRAM
    ip = mapping.host_ip
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    dual_stack = not ip and socket.has_ipv6
    if dual_stack:
        family, ip = socket.AF_INET6, "::"
    sock = socket.socket(family, kind)
    try:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if dual_stack:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((ip or "0.0.0.0", mapping.host_port))
        if kind == socket.SOCK_STREAM:
            sock.listen(512)
    except OSError as error:
        sock.close()
        if dual_stack and error.errno == errno.EAFNOSUPPORT:
            return bind_listener(PortMapping("0.0.0.0", *_rest(mapping)))
        where = f"{mapping.host_ip or '0.0.0.0'}:{mapping.host_port}/{mapping.protocol}"
        reason = "address already in use" if error.errno == errno.EADDRINUSE else error.strerror
        raise RuntimeError_(
            f"cannot publish port {where}: {reason}",
            "choose another host port, or stop what is listening there",
        ) from None
    return sock


def _rest(mapping: PortMapping) -> tuple[int, int, str]:
    return mapping.host_port, mapping.container_port, mapping.protocol


class NamespaceSockets:
    """A thread that lives in a network namespace and opens sockets there."""

    def __init__(self, netns_fd: int) -> None:
        self._requests: queue.Queue[tuple[int, int, queue.Queue[object]] | None] = queue.Queue()
        ready: queue.Queue[object] = queue.Queue()
        self._thread = threading.Thread(
            target=self._serve, args=(netns_fd, ready), daemon=True, name="netns"
        )
        self._thread.start()
        entered = ready.get()
        if isinstance(entered, BaseException):
            raise RuntimeError_(f"cannot enter the container's network namespace: {entered}")

    def _serve(self, netns_fd: int, ready: queue.Queue[object]) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(netns_fd, CLONE_NEWNET) != 0:
            ready.put(OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno())))
            return
        ready.put(True)
        while (request := self._requests.get()) is not None:
            family, kind, reply = request
            try:
                reply.put(socket.socket(family, kind))
            except OSError as error:
                reply.put(error)

    def socket(self, family: int, kind: int) -> socket.socket:
        reply: queue.Queue[object] = queue.Queue()
        self._requests.put((family, kind, reply))
        result = reply.get()
        if isinstance(result, OSError):
            raise result
        assert isinstance(result, socket.socket)
        return result

    def close(self) -> None:
        self._requests.put(None)


def _splice_pump(source: socket.socket, target: socket.socket, done: Callable[[], None]) -> None:
    """Copies one direction in the kernel (socket -> pipe -> socket) until EOF."""
    read_end, write_end = os.pipe()
    try:
        while True:
            moved = os.splice(source.fileno(), write_end, 1 << 20)
            if moved == 0:
                break
            while moved:
                moved -= os.splice(read_end, target.fileno(), moved)
    except OSError:
        pass
    finally:
        os.close(read_end)
        os.close(write_end)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)
        done()


class _Connection:
    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self._open = 2
        self._lock = threading.Lock()

    def start(self) -> None:
        for source, target in ((self.client, self.upstream), (self.upstream, self.client)):
            threading.Thread(
                target=_splice_pump, args=(source, target, self._half_done), daemon=True
            ).start()

    def _half_done(self) -> None:
        with self._lock:
            self._open -= 1
            last = self._open == 0
        if last:
            self.close()

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class TcpProxy:
    def __init__(self, listener: socket.socket, port: int, sockets: NamespaceSockets) -> None:
        self.listener = listener
        self.port = port
        self.sockets = sockets
        self._connections: set[_Connection] = set()
        self._closed = False
        self._thread = threading.Thread(target=self._accept_loop, daemon=True, name="tcp-proxy")

    def start(self) -> None:
        self._thread.start()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        try:
            upstream = self.sockets.socket(socket.AF_INET, socket.SOCK_STREAM)
        except OSError:
            client.close()
            return
        try:
            upstream.connect(("127.0.0.1", self.port))
        except OSError:
            upstream.close()
            client.close()
            return
        connection = _Connection(client, upstream)
        self._connections.add(connection)
        connection.start()

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for connection in list(self._connections):
            connection.close()
        self._connections.clear()


class UdpProxy:
    """Forwards datagrams per peer; a peer idle for ``idle_timeout`` is forgotten."""

    def __init__(
        self,
        listener: socket.socket,
        port: int,
        sockets: NamespaceSockets,
        idle_timeout: float = 90.0,
    ) -> None:
        self.listener = listener
        self.port = port
        self.sockets = sockets
        self.idle_timeout = idle_timeout
        self._peers: dict[tuple[Any, ...], socket.socket] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._receive_loop, daemon=True, name="udp-proxy")

    def start(self) -> None:
        self._thread.start()

    def _receive_loop(self) -> None:
        while not self._closed:
            try:
                data, peer = self.listener.recvfrom(65535)
            except OSError:
                return
            upstream = self._upstream(peer)
            if upstream is not None:
                with contextlib.suppress(OSError):
                    upstream.send(data)

    def _upstream(self, peer: tuple[Any, ...]) -> socket.socket | None:
        with self._lock:
            upstream = self._peers.get(peer)
            if upstream is not None:
                return upstream
            try:
                upstream = self.sockets.socket(socket.AF_INET, socket.SOCK_DGRAM)
                upstream.connect(("127.0.0.1", self.port))
            except OSError:
                return None
            upstream.settimeout(self.idle_timeout)
            self._peers[peer] = upstream
        threading.Thread(target=self._reply_loop, args=(peer, upstream), daemon=True).start()
        return upstream

    def _reply_loop(self, peer: tuple[Any, ...], upstream: socket.socket) -> None:
        try:
            while True:
                data = upstream.recv(65535)
                self.listener.sendto(data, peer)
        except OSError:
            pass
        finally:
            with self._lock:
                self._peers.pop(peer, None)
            upstream.close()

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        with self._lock:
            peers = list(self._peers.values())
        for upstream in peers:
            with contextlib.suppress(OSError):
                upstream.shutdown(socket.SHUT_RDWR)


class PortPublisher:
    """All published ports of one container, bound before it starts."""

    def __init__(self, mappings: list[PortMapping]) -> None:
        self.listeners: list[tuple[PortMapping, socket.socket]] = []
        self._proxies: list[TcpProxy | UdpProxy] = []
        self._sockets: NamespaceSockets | None = None
        try:
            for mapping in mappings:
                self.listeners.append((mapping, bind_listener(mapping)))
        except BaseException:
            self.close()
            raise

    def bound(self) -> list[PortMapping]:
        """The mappings with the host ports actually bound (for port 0)."""
        return [
            PortMapping(m.host_ip, sock.getsockname()[1], m.container_port, m.protocol)
            for m, sock in self.listeners
        ]

    def start(self, netns_path: str) -> None:
        if not self.listeners:
            return
        fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            self._sockets = NamespaceSockets(fd)
        finally:
            os.close(fd)
        for mapping, listener in self.listeners:
            proxy: TcpProxy | UdpProxy
            if mapping.protocol == "tcp":
                proxy = TcpProxy(listener, mapping.container_port, self._sockets)
            else:
                proxy = UdpProxy(listener, mapping.container_port, self._sockets)
            proxy.start()
            self._proxies.append(proxy)

    def close(self) -> None:
        for proxy in self._proxies:
            proxy.close()
        for _, listener in self.listeners:
            listener.close()
        if self._sockets is not None:
            self._sockets.close()
