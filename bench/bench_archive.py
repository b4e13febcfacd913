"""save and load of a 400 MB, 20,000-file image: dockyard against Docker and the limit.

    PYTHONPATH=src .venv/bin/python bench/bench_archive.py [--files 20000] [--mb 400]

Needs dockerd (scripts/services). Builds the tree of bench_layer.py (contents cut from
this machine's /usr, so it compresses like real images), imports it into dockerd
(``docker import``) and into dockyard stores, then times, warm cache, --repeat rounds:

  save: docker save            vs dockyard save (store layer gzip'd, as a build makes it)
                                  dockyard save (store layer plain, as load makes it)
  load: docker load            vs dockyard load (of docker save's archive)
  limit: tar -c | isal gzip; raw copy of the archive with fsync: dd conv=fsync (read and
         write) and cp + sync (copy_file_range), the faster of the two

The contenders of a section run round-robin (one run of each per round, in a shuffled
order), so a load change on a shared machine hits them alike. docker load has a section
of its own, run last: dockerd keeps deleting and writing after a load or rmi returns,
which slowed whatever ran next (dockyard load 0.8 s after it, 0.36 s otherwise). Figures
are medians (minimum beside), with the section's load average. dockyard's bytecode is
compiled first, as an installed package's is (PYTHONDONTWRITEBYTECODE would otherwise
make each run compile it).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_layer import build_tree, sh

import dockyard

DOCKER = "/usr/bin/docker"
IMAGE = "dyst-bench-archive:latest"

Case = tuple[str, Callable[[], None], Callable[[], None]]  # label, action, cleanup


def round_robin(cases: list[Case], repeat: int) -> list[float]:
    """Median wall time of each case, run in turn ``repeat`` times after a ``sync``."""
    times: list[list[float]] = [[] for _ in cases]
    loads = []
    order = random.Random(7)
    for _ in range(repeat):
        for index in order.sample(range(len(cases)), len(cases)):
            _, action, cleanup = cases[index]
            spent = times[index]
            cleanup()
            subprocess.run(["sync"], check=True)
            started = time.perf_counter()
            action()
            spent.append(time.perf_counter() - started)
            cleanup()
        loads.append(os.getloadavg()[0])
    medians = [statistics.median(spent) for spent in times]
    for (label, _, _), spent, median in zip(cases, times, medians, strict=True):
        print(f"  {label:<40} {median:7.2f} s median {min(spent):7.2f} s min", flush=True)
    print(f"  (load average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cpus)")
    return medians


def compile_dockyard() -> None:
    package = Path(dockyard.__file__).parent
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": ""}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)],
                   env=env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--mb", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", default=None, help="scratch directory (default: a temp dir)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-archive-", dir=args.dir))
    tree, tar = scratch / "tree", scratch / "tree.tar"
    docker_tar, ours_tar, out = scratch / "docker.tar", scratch / "ours.tar", scratch / "out"
    gz_store, plain_store, load_store = (scratch / n for n in ("gz", "plain", "load"))
    py = sys.executable
    dockyard_cli = f"{py} -m dockyard"
    try:
        compile_dockyard()
        build_tree(tree, args.files, args.mb)
        size = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())
        print(f"tree: {args.files} files, {size / 1e6:.0f} MB")
        sh(f"tar -C {tree} -cf {tar} .")()
        sh(f"{DOCKER} import {tar} {IMAGE} >/dev/null")()
        sh(f"DOCKYARD_ROOT={gz_store} {dockyard_cli} import {tree} {IMAGE} >/dev/null")()
        sh(f"{DOCKER} save -o {docker_tar} {IMAGE}")()
        sh(f"DOCKYARD_ROOT={plain_store} {dockyard_cli} load -q -i {docker_tar}")()
        sh(f"DOCKYARD_ROOT={plain_store} {dockyard_cli} save -o {ours_tar} {IMAGE}")()
        sh(f"DOCKYARD_ROOT={load_store} {dockyard_cli} images -q >/dev/null")()  # the store
        print(f"archive: {docker_tar.stat().st_size / 1e6:.0f} MB (uncompressed layer)")

        def remove_out() -> None:
            out.unlink(missing_ok=True)

        def remove_ours() -> None:
            """The image leaves the store; the store stays (dockerd's root is not made
            afresh for each docker load either)."""
            ours = f"DOCKYARD_ROOT={load_store} {dockyard_cli}"
            sh(f"{ours} rmi {IMAGE} >/dev/null 2>&1; {ours} system prune -a -f >/dev/null")()

        def remove_docker() -> None:
            subprocess.run([DOCKER, "rmi", "-f", IMAGE], capture_output=True, check=False)

        def nothing() -> None:
            pass

        print("save")
        docker_save, save_gz, save_plain = round_robin([
            ("docker save", sh(f"{DOCKER} save -o {out} {IMAGE}"), remove_out),
            ("dockyard save (gzip layer in store)",
             sh(f"DOCKYARD_ROOT={gz_store} {dockyard_cli} save -o {out} {IMAGE}"), remove_out),
            ("dockyard save (plain layer in store)",
             sh(f"DOCKYARD_ROOT={plain_store} {dockyard_cli} save -o {out} {IMAGE}"), remove_out),
        ], args.repeat)  # fmt: skip

        print("load: dockyard and the copy limit")
        load_docker, _, dd_limit, cp_limit = round_robin([
            ("dockyard load (docker save's archive)",
             sh(f"DOCKYARD_ROOT={load_store} {dockyard_cli} load -q -i {docker_tar}"),
             remove_ours),
            ("dockyard load (its own archive)",
             sh(f"DOCKYARD_ROOT={load_store} {dockyard_cli} load -q -i {ours_tar}"),
             remove_ours),
            ("limit: dd conv=fsync of the archive",
             sh(f"dd if={docker_tar} of={out} bs=1M conv=fsync status=none"), remove_out),
            ("limit: cp + sync of the archive",
             sh(f"cp {docker_tar} {out} && sync {out}"), remove_out),
            ("python start-up (for reference)", sh(f"{py} -c pass"), nothing),
        ], args.repeat)[:4]  # fmt: skip
        copy_limit = min(dd_limit, cp_limit)

        print("gzip limit")
        (gzip_limit,) = round_robin([
            ("tar -c | python -m isal.igzip -1",
             sh(f"tar -C {tree} -cf - . | {py} -m isal.igzip -1 -c > {out}"), remove_out),
        ], args.repeat)  # fmt: skip

        print("load: docker (last: dockerd goes on working after it returns)")
        (docker_load,) = round_robin([
            ("docker load", sh(f"{DOCKER} load -q -i {docker_tar} >/dev/null"), remove_docker),
        ], args.repeat)  # fmt: skip
        print("ratios of medians (lower is better)")
        print(
            f"  save vs docker save: gzip store {save_gz / docker_save:.2f}x, "
            f"plain store {save_plain / docker_save:.2f}x"
        )
        print(f"  load vs docker load: {load_docker / docker_load:.2f}x")
        print(
            f"  save (plain) vs raw copy: {save_plain / copy_limit:.2f}x; save (gzip) vs "
            f"tar|gzip: {save_gz / gzip_limit:.2f}x; load vs raw copy: "
            f"{load_docker / copy_limit:.2f}x"
        )
        sh(f"{DOCKER} load -q -i {docker_tar} >/dev/null")()
    finally:
        subprocess.run([DOCKER, "rmi", "-f", IMAGE], capture_output=True, check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
