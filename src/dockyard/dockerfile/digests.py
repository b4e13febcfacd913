"""ADD --checksum values: digests as BuildKit's ``digest.Parse`` accepts them."""

from __future__ import annotations

import re

from dockyard.errors import DockerfileError
from dockyard.location import SourceLocation

_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+\Z")
_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}


def check_digest(checksum: str, loc: SourceLocation) -> None:
    """ADD --checksum must be a digest (BuildKit's digest.Parse)."""
    algorithm, _, encoded = checksum.partition(":")
    length = _DIGEST_LENGTHS.get(algorithm)
    valid = (
        _DIGEST.match(checksum) is not None
        and length is not None
        and len(encoded) == length
        and all(c in "0123456789abcdef" for c in encoded)
    )
    if not valid:
        raise DockerfileError(
            f"invalid checksum digest format: {checksum!r}",
            loc,
            "write --checksum=sha256:<64 hex digits>",
        )
