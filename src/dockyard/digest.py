"""Content digests (``sha256:<hex>``) and streaming hashing."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import BinaryIO

from dockyard.errors import StoreError

_DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
_CHUNK = 1 << 20


@dataclass(frozen=True, order=True)
class Digest:
    """A validated ``algorithm:hex`` content digest. Only sha256 is supported."""

    value: str

    def __post_init__(self) -> None:
        if not _DIGEST_RE.match(self.value):
            raise StoreError(
                f"invalid digest: {self.value!r}", "digests look like sha256:<64 hex digits>"
            )

    @property
    def algorithm(self) -> str:
        return self.value.split(":", 1)[0]

    @property
    def hex(self) -> str:
        return self.value.split(":", 1)[1]

    @property
    def short(self) -> str:
        """The 12-hex-digit id Docker shows."""
        return self.hex[:12]

    def __str__(self) -> str:
        return self.value

    @classmethod
    def of_bytes(cls, data: bytes) -> Digest:
        return cls("sha256:" + hashlib.sha256(data).hexdigest())

    @classmethod
    def of_stream(cls, stream: BinaryIO) -> tuple[Digest, int]:
        """Hash a stream to its end; returns the digest and the byte count."""
        hasher = hashlib.sha256()
        size = 0
        while chunk := stream.read(_CHUNK):
            hasher.update(chunk)
            size += len(chunk)
        return cls("sha256:" + hasher.hexdigest()), size

    @classmethod
    def from_hasher(cls, hasher: hashlib._Hash) -> Digest:
        return cls("sha256:" + hasher.hexdigest())

    @classmethod
    def is_valid(cls, text: str) -> bool:
        return bool(_DIGEST_RE.match(text))
