"""Helpers for COPY/ADD tests: build a context tree, run a COPY into a root, list results."""

from __future__ import annotations

import io
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dockyard.fs.entries import write_entries
from dockyard.fs.unpack import unpack_layer
from dockyard.solver.fileops.copy import apply_copy
from dockyard.solver.fileops.plan import CopyPlan, CopySpec, prepare_copy
from dockyard.solver.fileops.tree import SourceTree
from dockyard.solver.fileops.virtual import NotDirect, VirtualTarget


def make_tree(base: Path, layout: dict[str, str | bytes | None]) -> Path:
    """Create files ("path": text), directories ("path/": None), symlinks ("path": "->to")."""
    base.mkdir(parents=True, exist_ok=True)
    for rel, content in layout.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith("/"):
            path.mkdir(exist_ok=True)
        elif isinstance(content, str) and content.startswith("->"):
            os.symlink(content[2:], path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content or "")
    return base


def listing(root: Path) -> dict[str, str]:
    """path -> "type mode uid:gid [content|->target]" for everything below root."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            st = path.lstat()
            rel = str(path.relative_to(root))
            head = f"{stat.S_IMODE(st.st_mode):o} {st.st_uid}:{st.st_gid}"
            if stat.S_ISLNK(st.st_mode):
                out[rel] = f"l {head} ->{os.readlink(path)}"
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = f"d {head}"
            else:
                out[rel] = f"f {head} {path.read_bytes().decode(errors='replace')}"
    return out


class Copier:
    """Runs COPY specs from one source directory into one destination root.

    ``direct``: the copy is recorded by a VirtualTarget over the root, written as a
    layer tar and that tar unpacked onto the root (what a build does for a COPY from
    the context), instead of copying into the root; both must give the same tree.
    """

    def __init__(self, context: Path, root: Path, *, direct: bool = False) -> None:
        self.context = context
        self.root = root
        self.direct = direct
        self.fell_back: list[str] = []
        root.mkdir(parents=True, exist_ok=True)

    make = staticmethod(make_tree)
    listing = staticmethod(listing)

    def tree(self) -> SourceTree:
        from dockyard.solver.context import open_context

        tree, _ = open_context(self.context)
        return tree

    def plan(self, *sources: str, dest: str, **options: object) -> CopyPlan:
        spec = CopySpec(tuple(sources), dest, **options)  # type: ignore[arg-type]
        return prepare_copy(spec, self.tree())

    def __call__(self, *sources: str, dest: str, **options: object) -> dict[str, str]:
        plan = self.plan(*sources, dest=dest, **options)
        if self.direct:
            self.copy_directly(plan)
        else:
            apply_copy(plan, self.root)
        return listing(self.root)

    def copy_directly(self, plan: CopyPlan) -> None:
        target = VirtualTarget(str(self.root), time.time_ns())
        try:
            apply_copy(plan, self.root, target=target)
            entries = target.entries()
        except NotDirect as reason:
            self.fell_back.append(str(reason))
            apply_copy(plan, self.root)
            return
        layer = io.BytesIO()
        write_entries(entries, layer, compression="none")
        layer.seek(0)
        unpack_layer(layer, self.root)


@pytest.fixture(params=["disk", "direct"])
def copier(request: pytest.FixtureRequest, tmp_path: Path) -> Copier:
    return Copier(tmp_path / "context", tmp_path / "root", direct=request.param == "direct")


@pytest.fixture
def tree_maker() -> Callable[[Path, dict[str, str | bytes | None]], Path]:
    """:func:`make_tree`, for test modules (they cannot import a conftest by name)."""
    return make_tree
