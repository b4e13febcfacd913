"""Where the runtime keeps its state, below the dockyard store root.

The rule is the store's: ``$DOCKYARD_ROOT``, else ``/var/lib/dockyard`` for root and
``$XDG_DATA_HOME/dockyard`` otherwise. Below it the runtime owns ``runc/`` (runc's
``--root`` state in ``runc/state``, bundles of build steps in ``runc/bundles``),
``containers/`` (one directory per container) and ``volumes/`` (named volumes).
"""

from __future__ import annotations

import os
from pathlib import Path


def store_root() -> Path:
    explicit = os.environ.get("DOCKYARD_ROOT")
    if explicit:
        return Path(explicit)
    if os.geteuid() == 0:
        return Path("/var/lib/dockyard")
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "dockyard"


def runc_state_root(root: Path | None = None) -> Path:
    return (root or store_root()) / "runc" / "state"


def bundles_dir(root: Path | None = None) -> Path:
    return (root or store_root()) / "runc" / "bundles"


def containers_dir(root: Path | None = None) -> Path:
    return (root or store_root()) / "containers"


def volumes_dir(root: Path | None = None) -> Path:
    return (root or store_root()) / "volumes"
