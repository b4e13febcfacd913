"""The layer between two full trees: the copying fallback when overlayfs is unavailable.

``write_diff(lower, upper, out)`` writes a layer that, applied on ``lower``, gives
``upper`` (containerd's double-walk differ): entries new or changed in ``upper``
(with the parent directories of every change, as an overlay upper dir would hold
them), and a ``.wh.NAME`` whiteout for each entry of ``lower`` missing from
``upper`` (not for what is under it). An entry counts as changed when its type,
mode, owner, size, mtime (ns), device, link target or xattrs differ; a regular
file whose metadata all match is compared byte by byte only when its mtime has no
sub-second part (a filesystem or copy that may have lost precision).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection
from pathlib import Path
from typing import BinaryIO

from dockyard.errors import LayerError
from dockyard.fs.compress import Compression, LayerBlob, LayerSink
from dockyard.fs.layer import TreeWriter, read_xattrs
from dockyard.fs.tarformat import END_OF_ARCHIVE


def write_diff(
    lower: Path | str,
    upper: Path | str,
    out: BinaryIO,
    *,
    compression: Compression = "gzip",
    source_date_epoch: int | None = None,
    exclude: Collection[str] = (),
) -> LayerBlob:
    """Write the layer that turns the tree ``lower`` into the tree ``upper``."""
    sink = LayerSink(out, compression)
    try:
        writer = TreeWriter(sink, "tree", source_date_epoch, exclude)
        for root in (lower, upper):
            if not stat.S_ISDIR(os.stat(root).st_mode):
                raise LayerError(f"cannot write layer: {root} is not a directory")
        _Differ(writer).directory(os.fspath(lower), os.fspath(upper), "")
        sink.write(END_OF_ARCHIVE)
    except OSError as error:
        sink.abort()
        raise LayerError(
            f"cannot write the diff of {lower} and {upper}: {error.filename}: {error.strerror}",
            "is something changing files under them while the layer is written?",
        ) from error
    except BaseException:
        sink.abort()
        raise
    return sink.close()


def _sorted(names: set[str]) -> list[str]:
    return sorted(names, key=lambda name: name.encode("utf-8", "surrogateescape"))


class _Differ:
    def __init__(self, writer: TreeWriter) -> None:
        self._writer = writer
        # Directories on the way down whose entries are written only if a change
        # below them is: [upper path, relative name, written yet].
        self._parents: list[list[object]] = []

    def _write_parents(self) -> None:
        for parent in self._parents:
            if not parent[2]:
                self._writer.write_directory_header(str(parent[0]), str(parent[1]))
                parent[2] = True

    def directory(self, lower: str, upper: str, prefix: str) -> None:
        lower_names = set(os.listdir(lower))
        upper_names = set(os.listdir(upper))
        for name in _sorted(lower_names | upper_names):
            relative = prefix + name
            if self._writer.excluded(relative):
                continue
            lower_path, upper_path = f"{lower}/{name}", f"{upper}/{name}"
            if name not in upper_names:
                self._write_parents()
                self._writer.write_whiteout(relative, os.lstat(upper))
                continue
            upper_st = os.lstat(upper_path)
            if name not in lower_names:
                self._write_new(upper_path, relative)
                continue
            lower_st = os.lstat(lower_path)
            changed = _changed(lower_path, lower_st, upper_path, upper_st)
            if stat.S_ISDIR(lower_st.st_mode) and stat.S_ISDIR(upper_st.st_mode):
                self._parents.append([upper_path, relative, False])
                if changed:
                    self._write_parents()
                self.directory(lower_path, upper_path, relative + "/")
                self._parents.pop()
            elif changed:
                self._write_new(upper_path, relative)

    def _write_new(self, upper_path: str, relative: str) -> None:
        self._write_parents()
        if self._writer.entry(upper_path, relative):
            self._writer.write_children(upper_path, relative + "/")


def _changed(lower: str, lower_st: os.stat_result, upper: str, upper_st: os.stat_result) -> bool:
    if (lower_st.st_mode, lower_st.st_uid, lower_st.st_gid, lower_st.st_mtime_ns) != (
        upper_st.st_mode,
        upper_st.st_uid,
        upper_st.st_gid,
        upper_st.st_mtime_ns,
    ):
        return True
    kind = stat.S_IFMT(upper_st.st_mode)
    if kind == stat.S_IFLNK and os.readlink(lower) != os.readlink(upper):
        return True
    if kind in (stat.S_IFCHR, stat.S_IFBLK) and lower_st.st_rdev != upper_st.st_rdev:
        return True
    if kind == stat.S_IFREG and lower_st.st_size != upper_st.st_size:
        return True
    if read_xattrs(lower)[1] != read_xattrs(upper)[1]:
        return True
    if kind == stat.S_IFREG and upper_st.st_mtime_ns % 1_000_000_000 == 0:
        return not _same_content(lower, upper)
    return False


def _same_content(first: str, second: str) -> bool:
    with open(first, "rb") as one, open(second, "rb") as other:
        while True:
            chunk = one.read(1 << 20)
            if chunk != other.read(1 << 20):
                return False
            if not chunk:
                return True
