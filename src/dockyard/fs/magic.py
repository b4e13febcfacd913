"""Which compression a stream uses, read from its first bytes (stdlib only, cheap to import).

Compression is read from the content, never from a file name or a media type, as Docker does.
"""

from __future__ import annotations

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
XZ_MAGIC = b"\xfd7zXZ\x00"
BZIP2_MAGIC = b"BZh"


def sniff_compression(head: bytes) -> str:
    """ "gzip", "zstd", "xz", "bzip2", or "" for none, from a stream's first bytes."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    if head.startswith(XZ_MAGIC):
        return "xz"
    if head.startswith(BZIP2_MAGIC):
        return "bzip2"
    return ""
