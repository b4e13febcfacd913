"""A tiny in-test registry on 127.0.0.1 (http.server) serving fixed content, with bearer auth."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class FakeRegistry:
    """Serves ``manifests`` and ``blobs`` (path suffix -> bytes) of one repository."""

    manifests: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    user: str | None = None  # bearer tokens only for this user (basic auth to /token)
    password: str = ""
    port: int = 0
    token_requests: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _handler(registry: FakeRegistry) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(
            self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _authorized(self) -> bool:
            if registry.user is None:
                return True
            if self.headers.get("Authorization") == "Bearer good-token":
                return True
            realm = f"http://{registry.address}/token"
            challenge = f'Bearer realm="{realm}",service="fake"'
            self._send(
                401,
                b'{"errors":[{"code":"UNAUTHORIZED","message":"auth"}]}',
                {"WWW-Authenticate": challenge},
            )
            return False

        def _token(self) -> None:
            registry.token_requests.append(self.path)
            expected = base64.b64encode(f"{registry.user}:{registry.password}".encode()).decode()
            if self.headers.get("Authorization") != f"Basic {expected}":
                self._send(401)
                return
            self._send(200, json.dumps({"token": "good-token"}).encode())

        def do_GET(self) -> None:
            if self.path.startswith("/token"):
                self._token()
                return
            if not self._authorized():
                return
            if self.path == "/v2/":
                self._send(200, b"{}")
                return
            for suffix, (media_type, body) in registry.manifests.items():
                if self.path.endswith(f"/manifests/{suffix}"):
                    self._send(200, body, {"Content-Type": media_type})
                    return
            for suffix, body in registry.blobs.items():
                if self.path.endswith(f"/blobs/{suffix}"):
                    self._send(200, body)
                    return
            self._send(404, b'{"errors":[{"code":"NOT_FOUND","message":"unknown"}]}')

        do_HEAD = do_GET

    return Handler


@contextmanager
def serve(registry: FakeRegistry) -> Iterator[FakeRegistry]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(registry))
    registry.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield registry
    finally:
        server.shutdown()
        server.server_close()
