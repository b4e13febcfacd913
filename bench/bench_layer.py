"""Layer write and unpack speed against the machine's own tools, in one run.

    PYTHONPATH=src .venv/bin/python bench/bench_layer.py [--files 20000] [--mb 400]
        [--content usr|random] [--only write,unpack] [--repeat 5]

Builds a tree of N files (contents cut from this machine's /usr, so it compresses
like real images; or random bytes, like the COPY context of bench_build.py), then
times, warm cache, the median of --repeat runs (the load average is printed: on a
shared machine wall times follow it, CPU times much less):
  write:  dockyard write_layer (gzip)      vs  tar -c | python -m isal.igzip  and  cp -a
          the same into the store (blob writer, fsync), as a build writes it;
          dockyard write_layer (no compression, zstd) for reference
  unpack: dockyard unpack_layer (gzip)     vs  python -m isal.igzip -d | tar -x
          dockyard unpack_layer (plain tar) vs  tar -x
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dockyard.fs import unpack_layer, write_layer
from dockyard.store import Store


def corpus(size: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    for directory in ("/usr/lib/x86_64-linux-gnu", "/usr/share", "/usr/bin", "/usr/lib"):
        for path in sorted(Path(directory).rglob("*")):
            if total >= size:
                return b"".join(parts)[:size]
            try:
                if path.is_file() and not path.is_symlink():
                    data = path.read_bytes()[: 4 << 20]
            except OSError:
                continue
            parts.append(data)
            total += len(data)
    return (b"".join(parts) * (size // max(total, 1) + 1))[:size]


def build_tree(root: Path, files: int, megabytes: int, content: str = "usr") -> None:
    rng = random.Random(42)
    data = corpus(64 << 20) if content == "usr" else rng.randbytes(64 << 20)
    weights = [rng.lognormvariate(0, 1.5) for _ in range(files)]
    scale = (megabytes << 20) / sum(weights)
    for index, weight in enumerate(weights):
        directory = root / f"d{index % 500:03d}" / f"s{index % 7}"
        directory.mkdir(parents=True, exist_ok=True)
        size = int(weight * scale)
        start = rng.randrange(0, len(data) - size) if size < len(data) else 0
        (directory / f"file-{index:05d}.bin").write_bytes(data[start : start + size])


def _cpu() -> float:
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def median_of(
    label: str, action: Callable[[], None], repeat: int, cleanup: Callable[[], None]
) -> float:
    """Median wall time of ``repeat`` runs; median CPU seconds (user+sys, all processes)
    and the load average shown too."""
    times, cpus = [], []
    for _ in range(repeat):
        cleanup()
        subprocess.run(["sync"], check=True)
        cpu = _cpu()
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
        cpus.append(_cpu() - cpu)
    cleanup()
    wall, cpu = statistics.median(times), statistics.median(cpus)
    load = os.getloadavg()[0]
    print(f"  {label:<40} {wall:7.2f} s wall {cpu:7.2f} s cpu  (load {load:.1f})", flush=True)
    return wall


def sh(command: str) -> Callable[[], None]:
    return lambda: subprocess.run(["bash", "-c", "set -o pipefail; " + command], check=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--mb", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--content", choices=("usr", "random"), default="usr")
    parser.add_argument("--only", default="write,unpack", help="write, unpack or both")
    parser.add_argument("--dir", default=None, help="scratch directory (default: a temp dir)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-layer-", dir=args.dir))
    tree, out, blob, plain = scratch / "tree", scratch / "out", scratch / "l.tgz", scratch / "l.tar"
    try:
        build_tree(tree, args.files, args.mb, args.content)
        size = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())
        print(f"tree: {args.files} files, {size / 1e6:.0f} MB; python {sys.version.split()[0]}")
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus")
        py = sys.executable

        def remove_out() -> None:
            shutil.rmtree(out, ignore_errors=True)
            blob.unlink(missing_ok=True)

        def write(path: Path, compression: str) -> Callable[[], None]:
            def run() -> None:
                with open(path, "wb") as stream:
                    write_layer(tree, stream, compression=compression)  # type: ignore[arg-type]

            return run

        def to_store() -> None:
            shutil.rmtree(scratch / "store", ignore_errors=True)
            with Store.open(scratch / "store") as store, store.layer_writer() as writer:
                writer.commit(write_layer(tree, writer.stream).diff_id)

        if "write" in args.only:
            print("write a layer")
            ours = median_of(
                "dockyard write_layer gzip", write(blob, "gzip"), args.repeat, remove_out
            )
            median_of("dockyard write_layer gzip into the store", to_store, args.repeat, remove_out)
            limit = median_of(
                "tar -c | python -m isal.igzip",
                sh(f"tar -C {tree} -cf - . | {py} -m isal.igzip -c > {blob}"),
                args.repeat,
                remove_out,
            )
            copy = median_of("cp -a", sh(f"cp -a {tree} {out}"), args.repeat, remove_out)
            median_of("dockyard write_layer zstd", write(blob, "zstd"), args.repeat, remove_out)
            median_of("dockyard write_layer none", write(blob, "none"), args.repeat, remove_out)
            tar_c = sh(f"tar -C {tree} -cf {blob} .")
            median_of("tar -c (no compression)", tar_c, args.repeat, remove_out)
            print(f"  ratio: {ours / limit:.2f}x tar|isal, {ours / copy:.2f}x cp -a")
        if "unpack" not in args.only:
            return 0

        write(blob, "gzip")()
        write(plain, "none")()
        sizes = blob.stat().st_size / 1e6, plain.stat().st_size / 1e6
        print(f"layer: {sizes[0]:.0f} MB gzip, {sizes[1]:.0f} MB tar")

        def fresh_out() -> None:
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()

        def unpack(path: Path) -> Callable[[], None]:
            def run() -> None:
                with open(path, "rb") as stream:
                    unpack_layer(stream, out)

            return run

        print("unpack a layer")
        ours_gz = median_of("dockyard unpack_layer gzip", unpack(blob), args.repeat, fresh_out)
        tar_gz = median_of(
            "python -m isal.igzip -d | tar -x",
            sh(f"{py} -m isal.igzip -dc {blob} | tar -C {out} -xpf -"),
            args.repeat,
            fresh_out,
        )
        ours_tar = median_of("dockyard unpack_layer tar", unpack(plain), args.repeat, fresh_out)
        tar_x = median_of("tar -x", sh(f"tar -C {out} -xpf {plain}"), args.repeat, fresh_out)
        print(f"  ratio: gzip {ours_gz / tar_gz:.2f}x, plain {ours_tar / tar_x:.2f}x of tar")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
