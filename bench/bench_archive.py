"""save and load of a 400 MB, 20,000-file image: dockyard against Docker and the limit.

    PYTHONPATH=src .venv/bin/python bench/bench_archive.py [--files 20000] [--mb 400]

Needs dockerd (scripts/services). Builds the tree of bench_layer.py (contents cut from
this machine's /usr, so it compresses like real images), imports it into dockerd
(``docker import``) and into dockyard stores, then times, best of --repeat, warm cache:

  save: docker save            vs dockyard save (store layer gzip'd, as a build makes it)
                                  dockyard save (store layer plain, as load makes it)
  load: docker load            vs dockyard load (of docker save's archive)
  limit: tar -c | isal gzip; raw copy of the archive with fsync (dd conv=fsync)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_layer import best, build_tree, sh

DOCKER = "/usr/bin/docker"
IMAGE = "dyst-bench-archive:latest"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--mb", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--dir", default=None, help="scratch directory (default: a temp dir)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-archive-", dir=args.dir))
    tree, tar = scratch / "tree", scratch / "tree.tar"
    docker_tar, ours_tar, out = scratch / "docker.tar", scratch / "ours.tar", scratch / "out"
    gz_store, plain_store, load_store = (scratch / n for n in ("gz", "plain", "load"))
    py = sys.executable
    dockyard = f"{py} -m dockyard"
    try:
        build_tree(tree, args.files, args.mb)
        size = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())
        print(
            f"tree: {args.files} files, {size / 1e6:.0f} MB; load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus"
        )
        sh(f"tar -C {tree} -cf {tar} .")()
        sh(f"{DOCKER} import {tar} {IMAGE} >/dev/null")()
        sh(f"DOCKYARD_ROOT={gz_store} {dockyard} import {tree} {IMAGE} >/dev/null")()
        sh(f"{DOCKER} save -o {docker_tar} {IMAGE}")()
        sh(f"DOCKYARD_ROOT={plain_store} {dockyard} load -q -i {docker_tar}")()
        print(f"archive: {docker_tar.stat().st_size / 1e6:.0f} MB (uncompressed layer)")

        def remove_out() -> None:
            out.unlink(missing_ok=True)

        print("save")
        docker_save = best("docker save", sh(f"{DOCKER} save -o {out} {IMAGE}"),
                           args.repeat, remove_out)  # fmt: skip
        save_gz = best("dockyard save (gzip layer in store)",
                       sh(f"DOCKYARD_ROOT={gz_store} {dockyard} save -o {out} {IMAGE}"),
                       args.repeat, remove_out)  # fmt: skip
        save_plain = best("dockyard save (plain layer in store)",
                          sh(f"DOCKYARD_ROOT={plain_store} {dockyard} save -o {out} {IMAGE}"),
                          args.repeat, remove_out)  # fmt: skip
        sh(f"DOCKYARD_ROOT={plain_store} {dockyard} save -o {ours_tar} {IMAGE}")()

        def remove_image() -> None:
            subprocess.run([DOCKER, "rmi", "-f", IMAGE], capture_output=True, check=False)
            shutil.rmtree(load_store, ignore_errors=True)
            out.unlink(missing_ok=True)

        print("load")
        docker_load = best("docker load", sh(f"{DOCKER} load -q -i {docker_tar} >/dev/null"),
                           args.repeat, remove_image)  # fmt: skip
        load_docker = best("dockyard load (docker save's archive)",
                           sh(f"DOCKYARD_ROOT={load_store} {dockyard} load -q -i {docker_tar}"),
                           args.repeat, remove_image)  # fmt: skip
        best("dockyard load (its own archive)",
             sh(f"DOCKYARD_ROOT={load_store} {dockyard} load -q -i {ours_tar}"),
             args.repeat, remove_image)  # fmt: skip

        print("limits")
        gzip_limit = best("tar -c | python -m isal.igzip -1",
                          sh(f"tar -C {tree} -cf - . | {py} -m isal.igzip -1 -c > {out}"),
                          args.repeat, remove_out)  # fmt: skip
        copy_limit = best("raw copy with fsync (dd conv=fsync)",
                          sh(f"dd if={docker_tar} of={out} bs=1M conv=fsync status=none"),
                          args.repeat, remove_out)  # fmt: skip
        print("ratios (lower is better)")
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
