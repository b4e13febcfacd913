"""ADD of an http(s) URL: download once, verify ``--checksum``, keep BuildKit's metadata.

The file is named after the last element of the URL path (``__unnamed__`` when
there is none), has mode 0600 and the ``Last-Modified`` time of the response (the
epoch when the server sends none), exactly as BuildKit's HTTP source makes it. With
``--checksum`` an earlier download with that digest is reused without any request.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

from dockyard.errors import BuildError

TIMEOUT_SECONDS = 60
_ALGORITHMS = {"sha256": 64, "sha384": 96, "sha512": 128}


@dataclass(frozen=True)
class Fetched:
    """A downloaded URL: ``directory`` holds exactly one file, ``filename``."""

    url: str
    directory: Path
    filename: str
    digest: str  # "sha256:<hex>" of the content
    size: int


def url_filename(url: str) -> str:
    path = urllib.parse.urlparse(url).path
    base = posixpath.basename(path)
    return base if base not in ("", ".", "/", "..") else "__unnamed__"


def parse_checksum(checksum: str) -> tuple[str, str]:
    algorithm, _, hexdigest = checksum.partition(":")
    expected = _ALGORITHMS.get(algorithm)
    if expected is None or len(hexdigest) != expected or not _is_hex(hexdigest):
        raise BuildError(
            f"invalid checksum digest format: {checksum!r}",
            "use --checksum=sha256:<64 hex digits>",
        )
    return algorithm, hexdigest


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def fetch_url(url: str, fetch_dir: Path, *, checksum: str | None = None) -> Fetched:
    """Download ``url`` under ``fetch_dir`` (reusing a verified earlier download)."""
    filename = url_filename(url)
    wanted = parse_checksum(checksum) if checksum else None
    if wanted is not None:
        reused = _cached(fetch_dir, url, filename, wanted)
        if reused is not None:
            return reused
    fetch_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=fetch_dir))
    try:
        path = staging / filename
        hashers = {name: hashlib.new(name) for name in _ALGORITHMS}
        size, mtime = _download(url, path, hashers)
        digest = "sha256:" + hashers["sha256"].hexdigest()
        if wanted is not None:
            actual = hashers[wanted[0]].hexdigest()
            if actual != wanted[1]:
                raise BuildError(
                    f"checksum mismatch for {url}: expected {checksum}, got {wanted[0]}:{actual}",
                    "the download does not match --checksum; check the URL and the digest",
                )
        os.chmod(path, 0o600)
        os.utime(path, (mtime, mtime))
        final = fetch_dir / _key(url, digest, filename)
        if final.exists():
            _remove_tree(staging)
        else:
            try:
                os.rename(staging, final)
            except OSError:
                _remove_tree(staging)  # another build stored the same download first
        return Fetched(url, final, filename, digest, size)
    except BaseException:
        _remove_tree(staging)
        raise


def _key(url: str, digest: str, filename: str) -> str:
    return hashlib.sha256(f"{url}\0{digest}\0{filename}".encode()).hexdigest()[:40]


def _cached(fetch_dir: Path, url: str, filename: str, wanted: tuple[str, str]) -> Fetched | None:
    """A stored download of ``url`` whose content has the wanted digest."""
    if not fetch_dir.is_dir():
        return None
    for candidate in fetch_dir.glob("*/" + filename):
        marker = candidate.parent / ".url"
        try:
            if marker.read_text() != url:
                continue
        except OSError:
            continue
        with open(candidate, "rb") as stream:
            hasher = hashlib.file_digest(stream, wanted[0])
        if hasher.hexdigest() != wanted[1]:
            continue
        with open(candidate, "rb") as stream:
            sha256 = hashlib.file_digest(stream, "sha256").hexdigest()
        size = candidate.stat().st_size
        return Fetched(url, candidate.parent, filename, "sha256:" + sha256, size)
    return None


def _download(url: str, path: Path, hashers: dict[str, hashlib._Hash]) -> tuple[int, float]:
    request = urllib.request.Request(url, headers={"User-Agent": "dockyard"})
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS)
    except urllib.error.HTTPError as error:
        raise BuildError(
            f"failed to download {url}: HTTP {error.code} {error.reason}",
            "check that the URL is reachable from this machine",
        ) from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise BuildError(
            f"failed to download {url}: {reason}", "check the URL and the network"
        ) from error
    size = 0
    with response, open(path, "wb") as out:
        try:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                for hasher in hashers.values():
                    hasher.update(chunk)
                size += len(chunk)
        except OSError as error:
            raise BuildError(f"failed to download {url}: {error}") from error
        mtime = 0.0
        modified = response.headers.get("Last-Modified")
        if modified:
            with contextlib.suppress(TypeError, ValueError):
                mtime = parsedate_to_datetime(modified).timestamp()
    (path.parent / ".url").write_text(url)
    return size, mtime


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
