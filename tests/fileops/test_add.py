"""ADD: local archives by content (gzip, bzip2, xz, plain), URLs with --checksum."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import http.server
import io
import lzma
import tarfile
import threading
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any, ClassVar

import pytest

from dockyard.errors import BuildError
from dockyard.solver.fileops.copy import apply_copy
from dockyard.solver.fileops.plan import CopySpec, prepare_copy


def _tar_bytes(entries: list[tarfile.TarInfo], data: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info in entries:
            payload = data.get(info.name)
            if payload is not None:
                info.size = len(payload)
                archive.addfile(info, io.BytesIO(payload))
            else:
                archive.addfile(info)
    return buffer.getvalue()


def _entry(
    name: str, kind: bytes = tarfile.REGTYPE, mode: int = 0o644, **extra: Any
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = 1_600_000_000
    for key, value in extra.items():
        setattr(info, key, value)
    return info


SAMPLE = _tar_bytes(
    [
        _entry("top/", tarfile.DIRTYPE, 0o750, uid=5, gid=6),
        _entry("top/file.txt", uid=7, gid=8),
        _entry("top/link", tarfile.SYMTYPE, 0o777, linkname="file.txt"),
        _entry("top/hard", tarfile.LNKTYPE, linkname="top/file.txt"),
        _entry("deep/dir/x", mode=0o4755),
    ],
    {"top/file.txt": b"content", "deep/dir/x": b"X"},
)

COMPRESSORS = {
    "plain": lambda data: data,
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
}


@pytest.mark.parametrize("compression", sorted(COMPRESSORS))
def test_add_extracts_archives_detected_by_content(copier: Any, compression: str) -> None:
    # A misleading name: detection is by content, never by extension.
    copier.make(copier.context, {"archive.bin": COMPRESSORS[compression](SAMPLE)})
    result = copier("archive.bin", dest="/x/", add=True)
    assert result["x/top"] == "d 750 5:6"
    assert result["x/top/file.txt"] == "f 644 7:8 content"
    assert result["x/top/link"] == "l 777 0:0 ->file.txt"
    assert result["x/deep"] == "d 755 0:0"  # implied parents: 0755 root
    assert result["x/deep/dir/x"] == "f 4755 0:0 X"
    hard, file = (copier.root / "x/top/hard").stat(), (copier.root / "x/top/file.txt").stat()
    assert hard.st_ino == file.st_ino
    assert (copier.root / "x/top/file.txt").stat().st_mtime == 1_600_000_000


def test_add_archive_with_chown_owns_everything(copier: Any) -> None:
    copier.make(copier.context, {"a.tar.gz": gzip.compress(SAMPLE)})
    result = copier("a.tar.gz", dest="/x", add=True, chown="99:98")
    assert result["x"].split()[2] == "99:98"
    assert result["x/top/file.txt"].split()[2] == "99:98"


def test_copy_does_not_extract(copier: Any) -> None:
    copier.make(copier.context, {"a.tar": SAMPLE})
    result = copier("a.tar", dest="/x/")
    assert result["x/a.tar"].startswith("f 644 ")


def test_add_of_a_non_archive_is_a_plain_copy(copier: Any) -> None:
    copier.make(
        copier.context, {"data.tar.gz": b"\x1f\x8b but not gzip at all", "t.tar": b"x" * 600}
    )
    result = copier("data.tar.gz", "t.tar", dest="/x/", add=True)
    assert result["x/data.tar.gz"].startswith("f 644 ")
    assert result["x/t.tar"].startswith("f 644 ")


@pytest.mark.parametrize("name", ["../escape", "/../../escape", "a/../../escape"])
def test_archive_paths_cannot_climb_out(copier: Any, name: str) -> None:
    copier.make(copier.context, {"evil.tar": _tar_bytes([_entry(name)], {name: b"E"})})
    with pytest.raises(BuildError, match="outside the extraction directory"):
        copier("evil.tar", dest="/x/", add=True)
    assert not (copier.root / "escape").exists()


def test_archive_symlink_parents_stay_inside(copier: Any, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    archive = _tar_bytes(
        [_entry("esc", tarfile.SYMTYPE, linkname=str(outside)), _entry("esc/pwned")],
        {"esc/pwned": b"P"},
    )
    copier.make(copier.context, {"evil.tar": archive})
    copier("evil.tar", dest="/x/", add=True)
    assert not (outside / "pwned").exists()
    assert (copier.root / "x" / str(outside).lstrip("/") / "pwned").read_bytes() == b"P"


# -- URLs --------------------------------------------------------------------------------

PAYLOAD = b"downloaded content\n"
LAST_MODIFIED = 1_500_000_000


class _Handler(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Handler.requests.append(self.path)
        if self.path.startswith("/missing"):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        if not self.path.startswith("/nodate"):
            self.send_header("Last-Modified", formatdate(LAST_MODIFIED, usegmt=True))
        self.end_headers()
        self.wfile.write(PAYLOAD)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def http_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _add_url(copier: Any, tmp_path: Path, url: str, dest: str, **options: Any) -> dict[str, str]:
    spec = CopySpec((url,), dest, add=True, **options)
    plan = prepare_copy(spec, copier.tree(), fetch_dir=tmp_path / "fetch")
    apply_copy(plan, copier.root)
    return dict(copier.listing(copier.root))


def test_add_url_with_matching_checksum(copier: Any, tmp_path: Path, http_url: str) -> None:
    copier.make(copier.context, {})
    digest = "sha256:" + hashlib.sha256(PAYLOAD).hexdigest()
    result = _add_url(copier, tmp_path, f"{http_url}/files/app.txt", "/dl/", checksum=digest)
    assert result["dl/app.txt"] == "f 600 0:0 " + PAYLOAD.decode()
    assert (copier.root / "dl/app.txt").stat().st_mtime == LAST_MODIFIED
    # A second ADD with the same checksum is served from the download cache.
    _Handler.requests.clear()
    _add_url(copier, tmp_path, f"{http_url}/files/app.txt", "/dl2", checksum=digest)
    assert _Handler.requests == []
    assert (copier.root / "dl2").read_bytes() == PAYLOAD


def test_add_url_checksum_mismatch_fails(copier: Any, tmp_path: Path, http_url: str) -> None:
    copier.make(copier.context, {})
    wrong = "sha256:" + "0" * 64
    with pytest.raises(BuildError, match="checksum mismatch"):
        _add_url(copier, tmp_path, f"{http_url}/files/app.txt", "/dl/", checksum=wrong)
    assert not (copier.root / "dl").exists()


def test_add_url_names_and_times(copier: Any, tmp_path: Path, http_url: str) -> None:
    copier.make(copier.context, {})
    result = _add_url(copier, tmp_path, f"{http_url}/", "/u/")
    assert "u/__unnamed__" in result
    _add_url(copier, tmp_path, f"{http_url}/nodate/x.bin", "/n/")
    assert (copier.root / "n/x.bin").stat().st_mtime == 0


def test_add_url_http_error(copier: Any, tmp_path: Path, http_url: str) -> None:
    copier.make(copier.context, {})
    with pytest.raises(BuildError, match="HTTP 404"):
        _add_url(copier, tmp_path, f"{http_url}/missing/x", "/dl/")


def test_invalid_checksum_format(copier: Any, tmp_path: Path, http_url: str) -> None:
    copier.make(copier.context, {})
    with pytest.raises(BuildError, match="invalid checksum"):
        _add_url(copier, tmp_path, f"{http_url}/a", "/dl/", checksum="md5:abc")
