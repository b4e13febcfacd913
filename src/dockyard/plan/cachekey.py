"""Cache keys: a vertex's canonical op plus the cache keys of its inputs.

The digest of a vertex covers the digests of its inputs; the cache key covers their
*cache keys* instead. The two differ only where content matters more than identity:
a COPY from the build context is keyed by the content hash of exactly the files it
reads (``content_key``), never by the context as a whole, so editing a file the
Dockerfile never copies changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from dockyard.plan.graph import Vertex, canonical_json, sha256_hex


def cache_key(vertex: Vertex, input_keys: Sequence[str]) -> str:
    """The key under which the result of ``vertex`` is cached."""
    if len(input_keys) != len(vertex.inputs):
        raise ValueError("one key per input is needed")
    body = {"op": vertex.op.canonical(), "inputs": list(input_keys)}
    return sha256_hex(canonical_json(body))


def content_key(selector: object, content_hash: str) -> str:
    """The key of the context as one COPY sees it: what it selects and what that holds."""
    return sha256_hex(canonical_json({"selector": selector, "content": content_hash}))
