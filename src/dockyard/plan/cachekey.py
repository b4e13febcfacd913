"""Cache keys: a vertex's canonical op plus the cache keys of its inputs.

The digest of a vertex covers the digests of its inputs; the cache key covers their
*cache keys* instead. The two differ only where content matters more than identity:
a COPY from the build context is keyed by the content hash of exactly the files it
reads (``content_key``), never by the context as a whole, so editing a file the
Dockerfile never copies changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dockyard.plan.canonical import canonical_json, sha256_hex

if TYPE_CHECKING:
    from dockyard.plan.graph import Vertex


def cache_key(vertex: Vertex, input_keys: Sequence[str]) -> str:
    """The key under which the result of ``vertex`` is cached."""
    if len(input_keys) != len(vertex.inputs):
        raise ValueError("one key per input is needed")
    return op_cache_key(vertex.op.canonical(), input_keys)


def op_cache_key(op: Mapping[str, Any], input_keys: Sequence[str]) -> str:
    """The cache key from an op's canonical form (as a build record keeps it)."""
    return sha256_hex(canonical_json({"op": op, "inputs": list(input_keys)}))


def content_key(selector: object, content_hash: str) -> str:
    """The key of the context as one COPY sees it: what it selects and what that holds."""
    return sha256_hex(canonical_json({"selector": selector, "content": content_hash}))
