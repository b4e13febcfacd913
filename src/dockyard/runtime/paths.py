"""Where the runtime keeps its state, below the dockyard store root.

The root is the store's (``store.files.default_root``): ``$DOCKYARD_ROOT``, else
``/var/lib/dockyard`` for root and ``$XDG_DATA_HOME/dockyard`` otherwise. Below it the
runtime owns ``runc/`` (runc's ``--root`` state in ``runc/state``, bundles of build
steps in ``runc/bundles``), ``containers/`` (one directory per container) and
``volumes/`` (named volumes).
"""

from __future__ import annotations

from pathlib import Path

from dockyard.store.files import default_root as store_root


def runc_state_root(root: Path | None = None) -> Path:
    return (root or store_root()) / "runc" / "state"


def bundles_dir(root: Path | None = None) -> Path:
    return (root or store_root()) / "runc" / "bundles"


def containers_dir(root: Path | None = None) -> Path:
    return (root or store_root()) / "containers"


def volumes_dir(root: Path | None = None) -> Path:
    return (root or store_root()) / "volumes"
