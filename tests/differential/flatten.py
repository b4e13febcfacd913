"""Flattens a saved image (docker-archive or oci-archive) into a normalised description.

This is the *reference* side of the differential suite: it reads archives with
``tarfile`` only and never imports dockyard, so a bug in dockyard cannot hide itself.

The description is plain JSON data::

    {"files": {path: {type, mode, uid, gid, size, sha256, target, dev, xattrs,
                      hardlink_group}},
     "layers": [[entry names of layer 1], ...],
     "config": {Env, Cmd, Entrypoint, ..., architecture, os},
     "history": [{created_by, empty_layer, comment, author}, ...]}

Deliberately left out (they differ between any two builds, or say nothing about the
image's behaviour):
- mtimes of files and ``created`` of the config and of history entries (timestamps);
- image id, manifest and layer digests, diff_ids (tar bytes differ in header details
  such as mtimes and uname/gname; the content is compared entry by entry instead);
- uname/gname in tar headers (the numeric uid/gid are compared);
- the size of directories and symlinks (meaningless), and ``container_config``,
  ``container``, ``docker_version`` (Docker's legacy builder fields, not BuildKit's).
Empty values in the config (``""``, ``[]``, ``{}``, ``null``) are treated as absent:
the OCI/Docker config structs marshal every field with ``omitempty``.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"

CONFIG_FIELDS = (
    "Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes",
    "Labels", "StopSignal", "Healthcheck", "OnBuild", "Shell", "ArgsEscaped",
)  # fmt: skip

_TYPES = {
    tarfile.REGTYPE: "file",
    tarfile.AREGTYPE: "file",
    tarfile.CONTTYPE: "file",
    tarfile.DIRTYPE: "dir",
    tarfile.SYMTYPE: "symlink",
    tarfile.CHRTYPE: "char",
    tarfile.BLKTYPE: "block",
    tarfile.FIFOTYPE: "fifo",
}


@dataclass
class Node:
    """One inode of the flattened tree; hard links share the same Node object."""

    type: str
    mode: int
    uid: int
    gid: int
    size: int = 0
    sha256: str | None = None
    target: str | None = None
    dev: str | None = None
    xattrs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Entry:
    """A layer tar entry, read once (streams cannot be read twice)."""

    path: str
    info: tarfile.TarInfo
    sha256: str | None


def normalise(name: str) -> str:
    """Tar member name -> path relative to the root without ``./`` or slashes ('' = root)."""
    path = posixpath.normpath("/" + name).lstrip("/")
    return "" if path == "." else path


def _read_layer(stream: IO[bytes]) -> list[Entry]:
    entries: list[Entry] = []
    with tarfile.open(fileobj=stream, mode="r|*") as layer:
        for info in layer:
            digest = None
            if info.isreg():
                content = layer.extractfile(info)
                assert content is not None
                hasher = hashlib.sha256()
                for chunk in iter(lambda: content.read(1 << 20), b""):  # noqa: B023
                    hasher.update(chunk)
                digest = hasher.hexdigest()
            entries.append(Entry(normalise(info.name), info, digest))
    return entries


def _remove_tree(tree: dict[str, Node], path: str, keep_self: bool = False) -> None:
    prefix = path + "/" if path else ""
    for name in [n for n in tree if n.startswith(prefix) or (n == path and not keep_self)]:
        del tree[name]


def _ensure_parents(tree: dict[str, Node], path: str) -> None:
    parent = posixpath.dirname(path)
    missing = []
    while parent and (parent not in tree or tree[parent].type != "dir"):
        missing.append(parent)
        parent = posixpath.dirname(parent)
    for directory in reversed(missing):
        # A layer may omit parent entries; the unpacker then creates them 0755 root.
        _remove_tree(tree, directory)
        tree[directory] = Node("dir", 0o755, 0, 0)


def _node(entry: Entry) -> Node:
    info = entry.info
    kind = _TYPES.get(info.type)
    if kind is None:
        raise ValueError(f"unsupported tar entry type {info.type!r} for {info.name}")
    xattrs = {
        key.removeprefix("SCHILY.xattr."): value
        for key, value in info.pax_headers.items()
        if key.startswith("SCHILY.xattr.")
    }
    return Node(
        type=kind,
        mode=info.mode & 0o7777,
        uid=info.uid,
        gid=info.gid,
        size=info.size if kind == "file" else 0,
        sha256=entry.sha256,
        target=info.linkname if kind == "symlink" else None,
        dev=f"{info.devmajor},{info.devminor}" if kind in ("char", "block") else None,
        xattrs=xattrs,
    )


def apply_layer(tree: dict[str, Node], entries: list[Entry]) -> None:
    """Applies one layer: whiteouts first (they hide only lower layers), then entries."""
    for entry in entries:
        base = posixpath.basename(entry.path)
        directory = posixpath.dirname(entry.path)
        if base == OPAQUE_MARKER:
            _remove_tree(tree, directory, keep_self=True)
        elif base.startswith(WHITEOUT_PREFIX):
            _remove_tree(tree, posixpath.join(directory, base[len(WHITEOUT_PREFIX) :]))
    for entry in entries:
        if not entry.path or posixpath.basename(entry.path).startswith(WHITEOUT_PREFIX):
            continue
        _ensure_parents(tree, entry.path)
        existing = tree.get(entry.path)
        if entry.info.islnk():
            target = tree.get(normalise(entry.info.linkname))
            if target is None:
                raise ValueError(f"hard link {entry.path} -> missing {entry.info.linkname}")
            _remove_tree(tree, entry.path)
            tree[entry.path] = target
            continue
        node = _node(entry)
        if existing is not None and existing.type == "dir" and node.type == "dir":
            tree[entry.path] = node  # metadata replaced, children kept
        else:
            _remove_tree(tree, entry.path)
            tree[entry.path] = node


def _layer_listing(entries: list[Entry]) -> list[str]:
    names = []
    for entry in entries:
        if not entry.path:
            continue
        suffix = "/" if entry.info.isdir() else ""
        names.append(entry.path + suffix)
    return sorted(names)


def describe_tree(tree: dict[str, Node]) -> dict[str, dict[str, Any]]:
    groups: dict[int, list[str]] = {}
    for path, node in tree.items():
        groups.setdefault(id(node), []).append(path)
    files: dict[str, dict[str, Any]] = {}
    for path in sorted(tree):
        node = tree[path]
        item: dict[str, Any] = {
            "type": node.type,
            "mode": f"{node.mode:04o}",
            "uid": node.uid,
            "gid": node.gid,
        }
        if node.type == "file":
            item["size"] = node.size
            item["sha256"] = node.sha256
        if node.target is not None:
            item["target"] = node.target
        if node.dev is not None:
            item["dev"] = node.dev
        if node.xattrs:
            item["xattrs"] = dict(sorted(node.xattrs.items()))
        group = groups[id(node)]
        if len(group) > 1:
            item["hardlink_group"] = min(group)
        files[path] = item
    return files


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def describe_config(image_config: dict[str, Any]) -> dict[str, Any]:
    config = image_config.get("config") or {}
    described = {name: config[name] for name in CONFIG_FIELDS if not _is_empty(config.get(name))}
    for name in ("architecture", "os", "author"):
        if not _is_empty(image_config.get(name)):
            described[name] = image_config[name]
    return described


def describe_history(image_config: dict[str, Any]) -> list[dict[str, Any]]:
    history = []
    for item in image_config.get("history") or []:
        entry = {
            "created_by": item.get("created_by", ""),
            "empty_layer": bool(item.get("empty_layer", False)),
        }
        for name in ("comment", "author"):
            if not _is_empty(item.get(name)):
                entry[name] = item[name]
        history.append(entry)
    return history


def describe_layers(config: dict[str, Any], layers: list[list[Entry]]) -> dict[str, Any]:
    tree: dict[str, Node] = {}
    for entries in layers:
        apply_layer(tree, entries)
    return {
        "files": describe_tree(tree),
        "layers": [_layer_listing(entries) for entries in layers],
        "config": describe_config(config),
        "history": describe_history(config),
    }


def _blob_path(digest: str) -> str:
    algorithm, _, hexdigest = digest.partition(":")
    return f"blobs/{algorithm}/{hexdigest}"


def describe_archive(path: Path) -> dict[str, Any]:
    """Reads a docker-archive (``manifest.json``) or an oci-archive (``index.json``)."""
    with tarfile.open(path, mode="r:*") as archive:
        members = {normalise(m.name): m for m in archive.getmembers()}

        def read(name: str) -> bytes:
            member = members.get(normalise(name))
            if member is None:
                raise ValueError(f"{path}: archive has no {name}")
            if member.islnk() or member.issym():
                member = members[normalise(member.linkname)]
            stream = archive.extractfile(member)
            assert stream is not None
            return stream.read()

        def layer(name: str) -> list[Entry]:
            member = members[normalise(name)]
            if member.islnk() or member.issym():
                member = members[normalise(member.linkname)]
            stream = archive.extractfile(member)
            assert stream is not None
            return _read_layer(stream)

        if "manifest.json" in members:
            manifests = json.loads(read("manifest.json"))
            if len(manifests) != 1:
                raise ValueError(f"{path}: expected one image, found {len(manifests)}")
            config = json.loads(read(manifests[0]["Config"]))
            layer_names = list(manifests[0]["Layers"])
        elif "index.json" in members:
            index = json.loads(read("index.json"))
            manifest_descriptor = index["manifests"][0]
            manifest = json.loads(read(_blob_path(manifest_descriptor["digest"])))
            if "manifests" in manifest:  # a nested index
                manifest = json.loads(read(_blob_path(manifest["manifests"][0]["digest"])))
            config = json.loads(read(_blob_path(manifest["config"]["digest"])))
            layer_names = [_blob_path(item["digest"]) for item in manifest["layers"]]
        else:
            raise ValueError(f"{path}: neither manifest.json nor index.json: not an image archive")
        return describe_layers(config, [layer(name) for name in layer_names])
