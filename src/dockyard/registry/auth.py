"""Credentials in a ``~/.docker/config.json``-style file, and WWW-Authenticate parsing."""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import RegistryError


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def basic(self) -> str:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return f"Basic {token}"


def config_path(root: Path | None = None) -> Path:
    """$DOCKER_CONFIG/config.json, else ``config.json`` in the dockyard root."""
    if docker_config := os.environ.get("DOCKER_CONFIG"):
        return Path(docker_config) / "config.json"
    if root is None:
        from dockyard.store.files import default_root

        root = default_root()
    return root / "config.json"


def _read(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise RegistryError(f"cannot read {path}: {error}", "fix or remove the file") from None
    return data if isinstance(data, dict) else {}


def load_credentials(registry: str, root: Path | None = None) -> Credentials | None:
    auths = _read(config_path(root)).get("auths")
    if not isinstance(auths, dict):
        return None
    entry = auths.get(registry)
    if not isinstance(entry, dict) or not isinstance(entry.get("auth"), str):
        return None
    try:
        user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return Credentials(user, password)


def save_credentials(registry: str, credentials: Credentials, root: Path | None = None) -> Path:
    path = config_path(root)
    data = _read(path)
    auths = data.setdefault("auths", {})
    if not isinstance(auths, dict):
        auths = data["auths"] = {}
    auths[registry] = {"auth": credentials.basic().removeprefix("Basic ")}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump(data, file, indent="\t")
        file.write("\n")
    os.replace(temporary, path)
    return path


_PARAM = re.compile(r'(\w+)="([^"]*)"')


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="…",service="…"`` -> ("bearer", {realm, service, …})."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(_PARAM.findall(rest))
