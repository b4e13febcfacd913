"""The no-op rebuild, answered without planning, mounting or even importing the engine.

After a successful build, a *record* is written under ``<store>/buildcache/records/``,
named by the hash of the request (Dockerfile bytes, context path, build args, target,
labels, tags, network...). It lists the stat signature of every context entry the
build could read (the .dockerignore-filtered walk: files and directories, so added and
removed files show), the base images' manifest digests, and the image produced. A
later identical request whose context, bases and names are all unchanged is the same
build with every step cached: it prints the steps as CACHED and is done. When only
the context changed, the record's *chain* (rebuild.py) lets the build skip planning;
anything else -- a moved tag, a missing blob, a changed ignore file -- falls back to
the full build, which is cached step by step. Only ``os``, ``marshal`` and ``hashlib``
are used here, so this path stays fast (``json`` alone would cost ~3 ms: it imports
``re``): records are ``marshal`` files, like the stat cache.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import time

TYPE_CHECKING = False  # typing itself would cost the no-op rebuild ~6 ms
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import Any, TextIO

RECORD_VERSION = 2
# A file changed this close to the record's time could change again unnoticed
# within the filesystem's timestamp granularity.
RACY_NS = 100_000_000
RACY = [-1]  # the recorded signature of such an entry


def store_root() -> str:
    """The store root, by the store's rule (kept here to avoid importing the store)."""
    explicit = os.environ.get("DOCKYARD_ROOT")
    if explicit:
        return explicit
    if os.geteuid() == 0:
        return "/var/lib/dockyard"
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return os.path.join(data_home, "dockyard")


def request_key(
    *,
    dockerfile: bytes,
    dockerfile_path: str | None,
    context_dir: str | None,
    build_args: Mapping[str, str],
    target: str | None,
    labels: Mapping[str, str],
    network: str,
    tags: Sequence[str],
    source_date_epoch: int | None,
    secrets: Iterable[str],
) -> str:
    fields = [
        RECORD_VERSION,
        hashlib.sha256(dockerfile).hexdigest(),
        dockerfile_path,
        context_dir,
        sorted(build_args.items()),
        target,
        sorted(labels.items()),
        network,
        list(tags),
        source_date_epoch,
        sorted(secrets),
    ]
    return hashlib.sha256(repr(fields).encode()).hexdigest()


def _record_path(root: str, key: str) -> str:
    return os.path.join(root, "buildcache", "records", key[:40] + ".record")


def _signature(path: str) -> list[int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode, st.st_uid]


def _index_names(root: str) -> dict[str, str]:
    import json  # index.json is read only once the record matched

    try:
        with open(os.path.join(root, "index.json"), "rb") as source:
            index = json.load(source)
    except (OSError, ValueError):
        return {}
    names = {}
    for entry in index.get("manifests") or ():
        name = (entry.get("annotations") or {}).get("org.opencontainers.image.ref.name")
        if name:
            names[name] = entry.get("digest")
    return names


def _blob_exists(root: str, digest: str) -> bool:
    algorithm, _, hexdigest = digest.partition(":")
    return os.path.exists(os.path.join(root, "blobs", algorithm, hexdigest))


# Records read by this process, by path, with the (inode, size, mtime) they were read
# at: the no-op check and the rebuild that follows it parse a record once.
_loaded: dict[str, tuple[tuple[int, int, int], dict[str, Any]]] = {}


def load(root: str, key: str) -> dict[str, Any] | None:
    """The record of an earlier build of the same request, if there is one (read-only)."""
    path = _record_path(root, key)
    try:
        st = os.stat(path)
    except OSError:
        return None
    stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
    cached = _loaded.get(path)
    if cached is None or cached[0] != stamp:
        read = _read(path)
        if read is None:
            return None
        cached = _loaded[path] = (stamp, read)
    record = cached[1]
    return record if record.get("key") == key else None


def _index_path(root: str) -> str:
    return os.path.join(root, "index.json")


def _stable_signature(path: str, now_ns: int) -> list[int] | None:
    """The signature of ``path``, or RACY if it changed within RACY_NS of ``now_ns``."""
    found = _signature(path)
    if found is not None and _racy(found[2], found[3], now_ns):
        return RACY
    return found


def _racy(mtime_ns: int, ctime_ns: int, now_ns: int) -> bool:
    return now_ns - max(mtime_ns, ctime_ns) < RACY_NS


def store_unchanged(root: str, record: Mapping[str, Any]) -> bool:
    """Are the bases, names, blobs and ignore files of a record's build as they were?

    While ``index.json`` keeps the signature the record saw, no name in it moved and
    it is not even parsed.
    """
    if _signature(_index_path(root)) != record.get("index"):
        names = _index_names(root)
        for name, digest in record["bases"].items():
            if names.get(name) != digest:
                return False
        for name in record["names"]:
            if names.get(name) != record["manifest"]:
                return False
    if not all(_blob_exists(root, digest) for digest in record["blobs"]):
        return False
    return all(_signature(path) == expected for path, expected in record["files"])


def context_unchanged(record: Mapping[str, Any], context_dir: str | None) -> bool:
    """Does every context entry the build could read have its recorded signature?"""
    if context_dir is None:
        return True
    prefix = context_dir.rstrip("/") + "/"
    for relative, expected in record["context"]:
        if _signature(prefix + relative if relative else context_dir) != expected:
            return False
    return True


def lookup(root: str, key: str, context_dir: str | None) -> dict[str, Any] | None:
    """The record of an identical earlier build if nothing it depends on changed."""
    record = load(root, key)
    if record is None or not store_unchanged(root, record):
        return None
    if not context_unchanged(record, context_dir):
        return None
    # index.json moved (another name changed) but this build's names hold: take its new
    # signature, once stable, so that the next lookup skips parsing it again.
    index = _stable_signature(_index_path(root), time.time_ns())
    if index is not RACY and index != record.get("index"):
        record["index"] = index
        _save(_record_path(root, key), record)
    return record


def replay(record: Mapping[str, Any], stream: TextIO, mode: str) -> None:
    """Print the build's progress as BuildKit does for a fully cached build."""
    if mode == "quiet":
        return
    if mode == "tty":
        stream.write(f"[+] Building 0.0s ({len(record['steps']) + 1}/{len(record['steps']) + 1})\n")
        for name, kind in record["steps"]:
            stream.write(f" => {'' if kind == 'source' else 'CACHED '}{name}\n")
        stream.write(f" => exporting to image\n => => writing image {record['image_id']}\n")
        stream.flush()
        return
    lines = []
    number = 0
    for name, kind in record["steps"]:
        number += 1
        lines.append(
            f"#{number} {name}\n#{number} {'DONE 0.0s' if kind == 'source' else 'CACHED'}\n"
        )
    number += 1
    export = [f"#{number} exporting to image", f"#{number} writing image {record['image_id']} done"]
    export += [f"#{number} naming to {name} done" for name in record["tags"]]
    export.append(f"#{number} DONE 0.0s\n")
    lines.append("\n".join(export))
    if mode == "rawjson":
        import json

        for line in "".join(lines).splitlines():
            if line:
                tag, _, text = line.partition(" ")
                event = {"vertex": int(tag[1:]), "time": time.time(), "text": text}
                stream.write(json.dumps(event) + "\n")
    else:
        stream.write("\n".join(lines) + "\n")
    stream.flush()


def write(
    root: str,
    key: str,
    *,
    context_dir: str | None,
    context_entries: Iterable[tuple[str, os.stat_result]],
    extra_files: Iterable[str],
    bases: Mapping[str, str],
    names: Sequence[str],
    tags: Sequence[str],
    manifest: str,
    image_id: str,
    blobs: Sequence[str],
    steps: Sequence[tuple[str, str]],
    chain: Mapping[str, Any] | None = None,
) -> bool:
    """Write the record of a successful build.

    An entry changed within ``RACY_NS`` of now could change again unnoticed: it is
    recorded with a signature that never matches (``RACY``), so the next build checks
    it again. False when an ignore file is racy: then no record is written.
    """
    started = time.time_ns()
    context = []
    index = _stable_signature(_index_path(root), started)
    for relative, st in context_entries:
        signature = [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode, st.st_uid]
        if _racy(st.st_mtime_ns, st.st_ctime_ns, started):
            signature = RACY
        context.append([relative, signature])
    files = []
    for path in extra_files:
        found = _stable_signature(path, started)
        if found is RACY:
            return False
        files.append([path, found])
    record = {
        "key": key,
        "context_dir": context_dir,
        "context": context,
        "files": files,
        "bases": dict(bases),
        "names": list(names),
        "tags": list(tags),
        "manifest": manifest,
        "image_id": image_id,
        "blobs": list(blobs),
        "steps": [list(step) for step in steps],
        "chain": chain,
        "index": index,
    }
    path = _record_path(root, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    _save(path, record)
    return True


def prune(root: str) -> int:
    """Delete the records that can no longer answer: of an older format, left half-written
    by a killed build, or naming a blob that is gone (after garbage collection). Returns
    how many were deleted."""
    directory = os.path.join(root, "buildcache", "records")
    try:
        names = os.listdir(directory)
    except OSError:
        return 0
    deleted = 0
    for name in names:
        path = os.path.join(directory, name)
        if name.endswith(".tmp") and _writer_alive(name):
            continue  # being written by a running build
        record = _read(path) if name.endswith(".record") else None
        usable = record is not None and all(
            _blob_exists(root, digest) for digest in record.get("blobs", ())
        )
        if not usable:
            try:
                os.unlink(path)
                deleted += 1
            except OSError:
                pass
    return deleted


def _writer_alive(temporary_name: str) -> bool:
    """Is the process that writes this temporary record (``KEY.record.PID.tmp``) alive?"""
    pid = temporary_name.rsplit(".", 2)[-2]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # alive, owned by someone else
    return True


def _read(path: str) -> dict[str, Any] | None:
    """A record file's content; None if it cannot be read or is not a record."""
    try:
        with open(path, "rb") as source:
            record = marshal.loads(source.read())  # load(file) reads piece by piece: 20x slower
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return record if isinstance(record, dict) else None


def _save(path: str, record: dict[str, Any]) -> None:
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "wb") as out:
        out.write(marshal.dumps(record))
    os.replace(temporary, path)
