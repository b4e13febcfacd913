"""The one byte form every vertex digest and cache key is taken of.

Kept apart from the graph's dataclasses so that a rebuild answered from a build record
(solver/rebuild.py) computes cache keys without importing them.
"""

from __future__ import annotations

import hashlib
import json


def canonical_json(value: object) -> bytes:
    """Compact JSON with sorted keys."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()
