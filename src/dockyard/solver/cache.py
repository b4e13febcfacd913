"""The build cache: cache key -> the layer a step produced (sqlite in the store root).

A record says "the step with this key produced this layer" (diff_id, blob digest,
size, media type) and when. It survives across runs; a record whose blob has gone
(``dockyard system prune``) is treated as a miss by the solver. Writes are single
statements in autocommit mode, so a killed build leaves a consistent file.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import StoreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    diff_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    size INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    created TEXT NOT NULL,
    empty INTEGER NOT NULL DEFAULT 0,
    last_used REAL NOT NULL
);
"""


@dataclass(frozen=True)
class CachedLayer:
    """The layer a cached step produced."""

    diff_id: str
    digest: str
    size: int
    media_type: str
    created: str  # RFC 3339, the time the layer was first built
    empty: bool = False  # the step changed nothing (BuildKit drops such layers)


class BuildCache:
    """Key/value access to the cache database; one instance per build."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(path), timeout=30, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise StoreError(
                f"cannot open the build cache {path}: {error}",
                "check the permissions of the store root, or remove the file to start afresh",
            ) from error

    def get(self, key: str) -> CachedLayer | None:
        try:
            row = self._db.execute(
                "SELECT diff_id, digest, size, media_type, created, empty FROM results"
                " WHERE key = ?",
                (key,),
            ).fetchone()
        except sqlite3.Error as error:
            raise StoreError(f"build cache lookup failed: {error}") from error
        if row is None:
            return None
        return CachedLayer(row[0], row[1], int(row[2]), row[3], row[4], bool(row[5]))

    def put(self, key: str, layer: CachedLayer) -> None:
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO results"
                " (key, diff_id, digest, size, media_type, created, empty, last_used)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    layer.diff_id,
                    layer.digest,
                    layer.size,
                    layer.media_type,
                    layer.created,
                    int(layer.empty),
                    time.time(),
                ),
            )
        except sqlite3.Error as error:
            raise StoreError(f"cannot record a build cache entry: {error}") from error

    def forget(self, key: str) -> None:
        self._db.execute("DELETE FROM results WHERE key = ?", (key,))

    def digests(self) -> set[str]:
        """Every blob digest the cache refers to (garbage collection keeps these)."""
        return {row[0] for row in self._db.execute("SELECT DISTINCT digest FROM results")}

    def close(self) -> None:
        self._db.close()
