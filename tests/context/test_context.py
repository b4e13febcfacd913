"""The build context: content hashes for cache keys, the stat cache, tar contexts."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import time
from pathlib import Path

import pytest

from dockyard.errors import BuildError
from dockyard.solver.context import (
    context_checksum,
    extract_context_tar,
    is_tar_stream,
    open_context,
)
from dockyard.solver.fileops.contenthash import READ_CHUNK
from dockyard.solver.fileops.plan import CopySpec, prepare_copy
from dockyard.solver.fileops.statcache import RACY_NS


def _write(base: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _age(base: Path, seconds: float = 10.0) -> None:
    """Set every mtime into the past and let ctimes age, so cache entries are not racy."""
    stamp = time.time() - seconds
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            os.utime(Path(dirpath, name), (stamp, stamp), follow_symlinks=False)
    time.sleep(2 * RACY_NS / 1e9)  # ctime cannot be set: wait until it is not "just now"


def _checksum(context: Path, *sources: str, store: Path | None = None, **options: object) -> str:
    tree, hasher = open_context(context, None, store)
    spec = CopySpec(tuple(sources), "/dest/", **options)  # type: ignore[arg-type]
    plan = prepare_copy(spec, tree, hasher=hasher)
    hasher.save()
    return plan.checksum


@pytest.fixture
def context(tmp_path: Path) -> Path:
    base = tmp_path / "ctx"
    _write(base, {"package.json": "{}", "src/app.js": "1", "src/lib/util.js": "2", "README": "r"})
    return base


def test_mtime_changes_do_not_change_the_checksum(context: Path) -> None:
    before = _checksum(context, ".")
    _age(context, 1000)
    assert _checksum(context, ".") == before


def test_content_and_mode_changes_do(context: Path) -> None:
    before = _checksum(context, "src")
    (context / "src/lib/util.js").write_text("3")
    after_content = _checksum(context, "src")
    assert after_content != before
    os.chmod(context / "src/app.js", 0o755)
    after_mode = _checksum(context, "src")
    assert after_mode != after_content
    os.symlink("app.js", context / "src/alias")
    assert _checksum(context, "src") != after_mode


def test_xattr_changes_the_checksum(context: Path) -> None:
    before = _checksum(context, "src")
    os.setxattr(context / "src/app.js", "user.note", b"1")
    with_xattr = _checksum(context, "src")
    assert with_xattr != before
    os.setxattr(context / "src/app.js", "user.note", b"2")
    assert _checksum(context, "src") != with_xattr


def test_symlink_target_changes_the_checksum(context: Path) -> None:
    os.symlink("a", context / "src/link")
    before = _checksum(context, "src")
    os.unlink(context / "src/link")
    os.symlink("b", context / "src/link")
    assert _checksum(context, "src") != before


def test_files_a_copy_does_not_read_do_not_matter(context: Path) -> None:
    before = _checksum(context, "package.json", "src/*.js")
    (context / "README").write_text("changed")
    (context / "src/lib/util.js").write_text("changed")  # below src, not matched by *.js
    assert _checksum(context, "package.json", "src/*.js") == before
    (context / "src/app.js").write_text("changed")
    assert _checksum(context, "package.json", "src/*.js") != before


def test_options_and_destination_are_part_of_the_checksum(context: Path) -> None:
    base = _checksum(context, "src")
    assert _checksum(context, "src", chmod="755") != base
    assert _checksum(context, "src", chown="1:1") != base
    tree, hasher = open_context(context)
    other_dest = prepare_copy(CopySpec(("src",), "/other/"), tree, hasher=hasher).checksum
    assert other_dest != base


def test_stat_cache_avoids_rereading_unchanged_files(context: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    _age(context)
    tree, hasher = open_context(context, None, store)
    first = context_checksum(tree, hasher)
    assert hasher.bytes_read > 0
    tree, hasher = open_context(context, None, store)
    assert context_checksum(tree, hasher) == first
    assert hasher.bytes_read == 0
    assert hasher.cache.hits == 4 and hasher.cache.misses == 0
    # One file changes: only that one is read again.
    (context / "src/app.js").write_text("new content")
    tree, hasher = open_context(context, None, store)
    assert context_checksum(tree, hasher) != first
    assert hasher.bytes_read == len("new content")


def test_file_digests_in_the_stat_cache_are_sha256_of_the_content(tmp_path: Path) -> None:
    """Persisted stat caches and cache keys depend on these exact digests."""
    base = tmp_path / "ctx"
    sizes = {"empty": 0, "small": 1000, "one-buffer": READ_CHUNK, "big": 2 * READ_CHUNK + 3}
    contents = {name: os.urandom(size) for name, size in sizes.items()}
    for name, content in contents.items():
        _write(base, {name: ""})
        (base / name).write_bytes(content)
    os.setxattr(base / "small", "user.note", b"kept")
    tree, hasher = open_context(base)
    context_checksum(tree, hasher)
    digests = {
        name: hasher.cache.entries[(st.st_dev, st.st_ino)][3]
        for name in contents
        for st in [os.lstat(base / name)]
    }
    expected = {name: hashlib.sha256(content).digest() for name, content in contents.items()}
    folded = hashlib.sha256(expected["small"])
    folded.update(b"\0user.note\0kept")
    expected["small"] = folded.digest()
    assert digests == expected


def test_racy_entries_are_not_persisted(context: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    _age(context)
    now = time.time_ns()
    os.utime(context / "README", ns=(now, now))  # modified "just now"
    tree, hasher = open_context(context, None, store)
    context_checksum(tree, hasher)
    tree, hasher = open_context(context, None, store)
    context_checksum(tree, hasher)
    assert hasher.bytes_read == 1  # README re-read; the others came from the cache
    assert RACY_NS > 0


def test_stat_cache_survives_corruption(context: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    tree, hasher = open_context(context, None, store)
    first = context_checksum(tree, hasher)
    for path in (store / "cache" / "statcache").iterdir():
        path.write_bytes(b"garbage")
    tree, hasher = open_context(context, None, store)
    assert context_checksum(tree, hasher) == first


def test_context_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="is not a directory"):
        open_context(tmp_path / "missing")


def _tar(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_tar_context_from_a_stream(tmp_path: Path) -> None:
    data = _tar({"Dockerfile": b"FROM scratch\n", "app/main.py": b"print(1)\n"})
    assert is_tar_stream(data[:512])
    assert not is_tar_stream(b"FROM busybox\nRUN true\n".ljust(512, b"\n"))
    target = tmp_path / "ctx"
    extract_context_tar(io.BytesIO(data), target)
    assert (target / "app/main.py").read_text() == "print(1)\n"
    tree, hasher = open_context(target)
    assert prepare_copy(CopySpec(("app",), "/"), tree, hasher=hasher).checksum


def test_tar_context_cannot_escape(tmp_path: Path) -> None:
    data = _tar({"../evil": b"x"})
    with pytest.raises(BuildError, match="outside"):
        extract_context_tar(io.BytesIO(data), tmp_path / "ctx")
    assert not (tmp_path / "evil").exists()
