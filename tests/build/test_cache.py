"""The build cache database survives reopening and tolerates concurrent writers."""

from __future__ import annotations

from pathlib import Path

from dockyard.solver.cache import BuildCache, CachedLayer


def test_records_survive_reopening(tmp_path: Path) -> None:
    layer = CachedLayer(
        "sha256:" + "1" * 64, "sha256:" + "2" * 64, 10, "mt", "2026-01-01T00:00:00Z"
    )
    cache = BuildCache(tmp_path / "cache.db")
    assert cache.get("k") is None
    cache.put("k", layer)
    cache.put("empty", CachedLayer("", "", 0, "", "t", empty=True))
    cache.close()
    reopened = BuildCache(tmp_path / "cache.db")
    assert reopened.get("k") == layer
    empty = reopened.get("empty")
    assert empty is not None and empty.empty
    assert reopened.digests() == {"sha256:" + "2" * 64, ""}
    reopened.forget("k")
    assert reopened.get("k") is None


def test_two_open_caches_see_each_other(tmp_path: Path) -> None:
    one = BuildCache(tmp_path / "cache.db")
    two = BuildCache(tmp_path / "cache.db")
    one.put("a", CachedLayer("d", "g", 1, "m", "t"))
    assert two.get("a") == CachedLayer("d", "g", 1, "m", "t")
