"""COPY speed: dockyard's copier against ``cp -a``; context hashing cold vs no-op.

    python bench/bench_copy.py [--files 20000] [--megabytes 400] [--rounds 3] [--dir DIR]

Builds a context of N files (sizes spread around MB/N), then alternates ``cp -a`` and
``apply_copy`` of ``COPY . /app/`` into fresh directories on the same filesystem and
prints medians and their ratio; then the cache-key side: walking the context, hashing
it cold (empty stat cache) and again with the stat cache (a no-op rebuild).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from dockyard.solver.context import open_context
from dockyard.solver.fileops.copy import apply_copy
from dockyard.solver.fileops.plan import CopySpec, prepare_copy
from dockyard.solver.fileops.tree import SourceTree


def make_context(root: Path, files: int, megabytes: int) -> None:
    rng = random.Random(1)
    blob = os.urandom(1 << 20)
    mean = megabytes * 1_000_000 // files
    per_dir = 100
    for index in range(files):
        directory = root / f"d{index // per_dir:04}" / f"s{index % 7}"
        directory.mkdir(parents=True, exist_ok=True)
        size = min(rng.randint(0, 2 * mean), len(blob))
        start = rng.randint(0, len(blob) - size)
        (directory / f"f{index:05}.dat").write_bytes(blob[start : start + size])


def timed(action: object) -> float:
    started = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--megabytes", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="work directory (same fs)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-copy-", dir=args.dir))
    try:
        context = work / "context"
        make_context(context, args.files, args.megabytes)
        subprocess.run(["sync"], check=True)
        store = work / "store"
        walk = timed(lambda: SourceTree.scan(context))
        cold = timed(lambda: _key(context, store))
        time.sleep(0.2)  # let ctimes age past the racy window
        cold = timed(lambda: _key(context, work / "store2"))
        noop = statistics.median(timed(lambda: _key(context, work / "store2")) for _ in range(5))
        tree, hasher = open_context(context)
        plan = prepare_copy(CopySpec((".",), "/app/"), tree, hasher=hasher)
        cp_times, copy_times = [], []
        for round_number in range(args.rounds):
            target = work / f"cp{round_number}"
            cp_times.append(
                timed(
                    lambda t=target: subprocess.run(["cp", "-a", str(context), str(t)], check=True)
                )
            )
            root = work / f"root{round_number}"
            root.mkdir()
            copy_times.append(timed(lambda r=root: apply_copy(plan, r)))
            shutil.rmtree(target)
            shutil.rmtree(root)
            subprocess.run(["sync"], check=True)
        cp_median, copy_median = statistics.median(cp_times), statistics.median(copy_times)
        print(f"context: {args.files} files, {args.megabytes} MB")
        print(f"cp -a            {cp_median:7.3f} s  (runs {_runs(cp_times)})")
        print(f"dockyard COPY    {copy_median:7.3f} s  (runs {_runs(copy_times)})")
        print(f"ratio            {copy_median / cp_median:7.2f} x cp -a")
        print(f"stat walk        {walk:7.3f} s")
        print(f"cache key cold   {cold:7.3f} s (walk + read + sha256 of every file)")
        print(f"cache key no-op  {noop:7.3f} s (walk + stat cache)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _runs(times: list[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in times)


def _key(context: Path, store: Path) -> str:
    tree, hasher = open_context(context, None, store)
    checksum = prepare_copy(CopySpec((".",), "/app/"), tree, hasher=hasher).checksum
    hasher.save()
    return checksum


if __name__ == "__main__":
    main()
