"""HTTP to one registry over http.client: scheme choice, auth challenges, error mapping."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, BinaryIO

from dockyard.errors import RegistryError
from dockyard.registry.auth import Credentials, load_credentials, parse_challenge

if TYPE_CHECKING:
    import http.client
    from pathlib import Path

_LOOPBACK = ("localhost", "127.0.0.1", "[::1]", "::1")


def _is_loopback(registry: str) -> bool:
    host = registry.rsplit(":", 1)[0] if not registry.endswith("]") else registry
    return host in _LOOPBACK or host.startswith("127.")


class Transport:
    """Requests to ``registry`` (host[:port]); HTTP for loopback like Docker's default."""

    def __init__(
        self,
        registry: str,
        credentials: Credentials | None = None,
        root: Path | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.registry = registry
        self.scheme = "http" if _is_loopback(registry) else "https"
        self.credentials = credentials or load_credentials(registry, root)
        self.timeout = timeout
        self._authorization: dict[str, str] = {}  # scope -> Authorization header

    def _connect(self, netloc: str, scheme: str) -> http.client.HTTPConnection:
        import http.client

        if scheme == "https":
            return http.client.HTTPSConnection(netloc, timeout=self.timeout)
        return http.client.HTTPConnection(netloc, timeout=self.timeout)

    def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | BinaryIO | None = None,
    ) -> http.client.HTTPResponse:
        parts = urllib.parse.urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection = self._connect(parts.netloc, parts.scheme)
        try:
            connection.request(method, target or "/", body=body, headers=dict(headers))
            return connection.getresponse()
        except OSError as error:
            connection.close()
            raise RegistryError(
                f"cannot reach registry {self.registry}: {error}",
                f"is a registry listening on {parts.scheme}://{parts.netloc}?",
            ) from None

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.scheme}://{self.registry}{path}"

    def request(
        self,
        method: str,
        path: str,
        scope: str = "",
        headers: Mapping[str, str] | None = None,
        body: bytes | BinaryIO | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> http.client.HTTPResponse:
        """Send, answering one auth challenge; a status outside ``ok`` raises."""
        all_headers = dict(headers or {})
        if scope in self._authorization:
            all_headers["Authorization"] = self._authorization[scope]
        response = self._send(method, self.url(path), all_headers, body)
        if response.status == 401 and "Authorization" not in all_headers:
            challenge = response.getheader("WWW-Authenticate", "")
            response.read()
            self._authorization[scope] = self._authorize(challenge, scope)
            all_headers["Authorization"] = self._authorization[scope]
            response = self._send(method, self.url(path), all_headers, body)
        while response.status in (301, 302, 303, 307, 308) and method in ("GET", "HEAD"):
            location = response.getheader("Location", "")
            response.read()
            path = urllib.parse.urljoin(self.url(path), location)
            response = self._send(method, path, {})  # storage redirects carry their own auth
        if response.status not in ok:
            raise self._error(method, path, response)
        return response

    def _authorize(self, challenge: str, scope: str) -> str:
        scheme, params = parse_challenge(challenge)
        if scheme == "basic":
            if self.credentials is None:
                raise _login_needed(self.registry)
            return self.credentials.basic()
        if scheme != "bearer" or "realm" not in params:
            raise RegistryError(
                f"registry {self.registry} asks for unsupported authentication: {challenge!r}"
            )
        query = {"service": params.get("service", "")}
        if scope or params.get("scope"):
            query["scope"] = scope or params["scope"]
        url = params["realm"] + "?" + urllib.parse.urlencode(query)
        headers = {"Authorization": self.credentials.basic()} if self.credentials else {}
        response = self._send("GET", url, headers)
        data = response.read()
        if response.status != 200:
            raise _login_needed(self.registry, f"token service answered {response.status}")
        try:
            token = json.loads(data)
            value = token.get("token") or token.get("access_token")
        except (ValueError, AttributeError):
            value = None
        if not isinstance(value, str):
            raise RegistryError(f"token service of {self.registry} returned no token")
        return f"Bearer {value}"

    def _error(self, method: str, path: str, response: http.client.HTTPResponse) -> RegistryError:
        body = response.read(64 * 1024)
        detail = _error_message(body) or response.reason
        where = f"{method} {self.url(path)}"
        if response.status in (401, 403):
            return _login_needed(self.registry, f"{where}: {response.status} {detail}")
        if response.status == 404:
            return RegistryError(
                f"{where}: not found ({detail})",
                "check the repository name and tag, or push the image first",
            )
        return RegistryError(f"{where}: {response.status} {detail}", "see the registry's logs")


def _error_message(body: bytes) -> str:
    try:
        errors = json.loads(body).get("errors") or []
        return "; ".join(f"{e.get('code', '')}: {e.get('message', '')}" for e in errors)
    except (ValueError, AttributeError, TypeError):
        return ""


def _login_needed(registry: str, detail: str = "authentication required") -> RegistryError:
    return RegistryError(
        f"registry {registry}: {detail}",
        f"run 'dockyard login {registry}' with an account that may access this repository",
    )
