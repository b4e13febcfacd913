""".dockerignore matching and context-walk speed of dockyard.dockerfile.ignore (not a test).

    PYTHONPATH=src python bench/bench_ignore.py

Builds a context of about 12,300 entries in a temporary directory (a source tree and a
node_modules tree), then times the walk without rules, with typical rules (node_modules
pruned), and with a wildcard exception that forbids pruning; and times matching alone.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from dockyard.dockerfile.ignore import IgnoreRules, walk_context

RULES = {
    "no rules": "",
    "typical": "node_modules\n**/*.pyc\n*.log\n.git\n",
    "exception": "node_modules\n!node_modules/m1/i1.js\n**/*.pyc\n",
    "wildcard exception": "node_modules\n!**/keep.js\n**/*.pyc\n",
}


def _make_context(root: Path) -> None:
    for package in range(100):
        source = root / "src" / f"pkg{package}"
        (source / "sub").mkdir(parents=True)
        modules = root / "node_modules" / f"m{package}"
        modules.mkdir(parents=True)
        for index in range(50):
            (source / f"f{index}.py").touch()
            (modules / f"i{index}.js").touch()
        for index in range(20):
            (source / "sub" / f"t{index}.pyc").touch()


def _best(function: object, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        _make_context(root)
        total = sum(1 for _ in root.rglob("*"))
        print(f"context: {total} entries")
        for name, text in RULES.items():
            rules = IgnoreRules.parse(text)
            kept = sum(1 for _ in walk_context(root, rules))
            seconds = _best(lambda rules=rules: sum(1 for _ in walk_context(root, rules)))
            print(f"walk, {name:<19} {seconds * 1e3:7.1f} ms  ({kept} entries kept)")
        rules = IgnoreRules.parse(RULES["typical"])
        paths = [path.relative_to(root).as_posix() for path in root.rglob("*")]
        seconds = _best(lambda: [rules.matches(path) for path in paths])
        print(f"matches() alone:          {seconds / len(paths) * 1e6:7.2f} µs/path")


if __name__ == "__main__":
    main()
