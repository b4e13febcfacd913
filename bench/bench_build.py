"""``dockyard build`` against ``docker build`` (BuildKit), side by side, as ratios.

    python bench/bench_build.py [--rounds 3] [--only seed,runs,copy,parallel,go]

Workloads (each in its own fresh dockyard store and with Docker's build cache pruned
first; base images are loaded into both beforehand, outside the timings):
- seed: examples/simple-node on a local node:21 stand-in: cold, no-op, after editing server.js
- runs: 30 small RUN steps on busybox: cold, no-op
- copy: COPY of a 20,000-file 400 MB context: cold, no-op, one file changed; and ``cp -a``
- parallel: four independent 3-second stages copied into one image (ideal: ~3 s)
- go: examples/go-multistage (multistage Dockerfile) on a local golang image: cold, no-op
Times are wall-clock medians of ``--rounds`` runs for no-op and changed builds, one run
for cold builds. Docker runs as ``DOCKER_BUILDKIT=1 /usr/bin/docker build --network host``.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

DOCKER = ["/usr/bin/docker"]
DOCKER_ENV = {**os.environ, "DOCKER_BUILDKIT": "1"}
# An installed dockyard runs from cached bytecode; make sure the bench does too.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def run(command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


class Builders:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.counter = 0

    def fresh_store(self) -> dict[str, str]:
        self.counter += 1
        root = self.work / f"store{self.counter}"
        return {**os.environ, "DOCKYARD_ROOT": str(root)}

    @staticmethod
    def dockyard(env: dict[str, str], context: Path, tag: str, *extra: str) -> None:
        command = [sys.executable, "-m", "dockyard", "build", "-q", "-t", tag, *extra, str(context)]
        run(command, env=env)

    @staticmethod
    def docker(context: Path, tag: str, *extra: str) -> None:
        command = [*DOCKER, "build", "-q", "--network", "host", "-t", tag, *extra, str(context)]
        run(command, env=DOCKER_ENV)

    @staticmethod
    def prune_docker() -> None:
        run([*DOCKER, "builder", "prune", "-af"], env=DOCKER_ENV)

    @staticmethod
    def load_base(env: dict[str, str], tarball: Path, name: str) -> None:
        run([sys.executable, "-m", "dockyard", "import", str(tarball), name], env=env)


def median(values: list[float]) -> float:
    return statistics.median(values)


def measure(
    rows: list[tuple[str, float, float]],
    name: str,
    dockyard: Callable[[], object],
    docker: Callable[[], object],
    rounds: int,
    before: Callable[[], object] | None = None,
) -> None:
    mine, theirs = [], []
    for _ in range(rounds):
        if before:
            before()
        mine.append(timed(dockyard))
        if before:
            before()
        theirs.append(timed(docker))
    rows.append((name, median(mine), median(theirs)))
    print(f"  {name}: dockyard {median(mine):.3f}s docker {median(theirs):.3f}s", flush=True)


def warm_base(builders: Builders, env: dict[str, str], base: str, work: Path) -> None:
    """Unpack the base in both builders (outside the timings)."""
    context = work / f"warm-{base.replace(':', '-').replace('/', '-')}"
    context.mkdir(exist_ok=True)
    (context / "Dockerfile").write_text(f"FROM {base}\nRUN true\n")
    builders.dockyard(env, context, "bench-warm")
    builders.docker(context, "bench-warm")


def bench_seed(builders: Builders, rows: list[tuple[str, float, float]], rounds: int) -> None:
    from images import debian_rootfs, docker_image

    tarball = debian_rootfs(include=("nodejs", "npm"))
    docker_image(tarball, "node:21")
    env = builders.fresh_store()
    builders.load_base(env, tarball, "node:21")
    warm_base(builders, env, "node:21", builders.work)
    app = builders.work / "simple-node"
    shutil.copytree(REPO / "examples" / "simple-node", app)
    builders.prune_docker()
    measure(
        rows,
        "seed: cold",
        lambda: builders.dockyard(env, app, "bench-seed"),
        lambda: builders.docker(app, "bench-seed"),
        1,
    )
    time.sleep(0.2)
    measure(
        rows,
        "seed: no-op",
        lambda: builders.dockyard(env, app, "bench-seed"),
        lambda: builders.docker(app, "bench-seed"),
        rounds,
    )
    server = app / "server.js"

    def edit() -> None:
        server.write_text(server.read_text() + "\n// edited\n")

    measure(
        rows,
        "seed: edit server.js",
        lambda: builders.dockyard(env, app, "bench-seed"),
        lambda: builders.docker(app, "bench-seed"),
        rounds,
        before=edit,
    )


def bench_runs(builders: Builders, rows: list[tuple[str, float, float]], rounds: int) -> None:
    from images import BUSYBOX_IMAGE, busybox_rootfs, docker_image

    tarball = busybox_rootfs()
    docker_image(tarball, BUSYBOX_IMAGE)
    env = builders.fresh_store()
    builders.load_base(env, tarball, BUSYBOX_IMAGE)
    warm_base(builders, env, BUSYBOX_IMAGE, builders.work)
    context = builders.work / "runs"
    context.mkdir()
    steps = "".join(f"RUN echo {index} > /step{index}\n" for index in range(30))
    (context / "Dockerfile").write_text(f"FROM {BUSYBOX_IMAGE}\n{steps}")
    builders.prune_docker()
    measure(
        rows,
        "30 RUN steps: cold",
        lambda: builders.dockyard(env, context, "bench-runs"),
        lambda: builders.docker(context, "bench-runs"),
        1,
    )
    time.sleep(0.2)
    measure(
        rows,
        "30 RUN steps: no-op",
        lambda: builders.dockyard(env, context, "bench-runs"),
        lambda: builders.docker(context, "bench-runs"),
        rounds,
    )


def make_big_context(root: Path, files: int = 20_000, megabytes: int = 400) -> None:
    import random

    rng = random.Random(1)
    blob = os.urandom(1 << 20)
    mean = megabytes * 1_000_000 // files
    for index in range(files):
        directory = root / f"d{index // 100:04}"
        directory.mkdir(parents=True, exist_ok=True)
        size = min(rng.randint(0, 2 * mean), len(blob))
        start = rng.randint(0, len(blob) - size)
        (directory / f"f{index:05}.dat").write_bytes(blob[start : start + size])


COLD_ROUNDS = 3  # cp -a's time swings 0.4-4.7 s here with the page cache: take medians


def bench_copy(builders: Builders, rows: list[tuple[str, float, float]], rounds: int) -> None:
    from images import BUSYBOX_IMAGE, busybox_rootfs

    context = builders.work / "big"
    make_big_context(context / "data")
    (context / "Dockerfile").write_text(f"FROM {BUSYBOX_IMAGE}\nCOPY data /data\n")
    copies = builders.work / "cp-target"

    def cp_a() -> None:
        run(["cp", "-a", str(context / "data"), str(copies)])

    # Each cold round: cp -a into a new directory, a build into a new store (cold stat
    # cache, base unpacked beforehand), a docker build after pruning its cache.
    mine, theirs, copying = [], [], []
    for _ in range(COLD_ROUNDS):
        env = builders.fresh_store()
        builders.load_base(env, busybox_rootfs(), BUSYBOX_IMAGE)
        warm_base(builders, env, BUSYBOX_IMAGE, builders.work)
        builders.prune_docker()
        subprocess.run(["sync"], check=True)
        copying.append(timed(cp_a))
        shutil.rmtree(copies)
        subprocess.run(["sync"], check=True)
        mine.append(timed(functools.partial(builders.dockyard, env, context, "bench-copy")))
        theirs.append(timed(lambda: builders.docker(context, "bench-copy")))
    rows.append(("COPY 20k files/400 MB: cold", median(mine), median(theirs)))
    rows.append(("  cp -a of the same tree (dockyard column)", median(copying), 0.0))
    print(
        f"  cold: dockyard {median(mine):.3f}s docker {median(theirs):.3f}s "
        f"cp -a {median(copying):.3f}s (cp -a rounds: {', '.join(f'{t:.2f}' for t in copying)})",
        flush=True,
    )
    time.sleep(0.2)
    measure(
        rows,
        "COPY 20k files: no-op",
        lambda: builders.dockyard(env, context, "bench-copy"),
        lambda: builders.docker(context, "bench-copy"),
        rounds,
    )
    changed = context / "data" / "d0000" / "f00000.dat"

    def touch() -> None:
        changed.write_bytes(os.urandom(1000))

    measure(
        rows,
        "COPY 20k files: one file changed",
        lambda: builders.dockyard(env, context, "bench-copy"),
        lambda: builders.docker(context, "bench-copy"),
        rounds,
        before=touch,
    )


def bench_parallel(builders: Builders, rows: list[tuple[str, float, float]], rounds: int) -> None:
    from images import BUSYBOX_IMAGE, busybox_rootfs

    env = builders.fresh_store()
    builders.load_base(env, busybox_rootfs(), BUSYBOX_IMAGE)
    warm_base(builders, env, BUSYBOX_IMAGE, builders.work)
    context = builders.work / "parallel"
    context.mkdir()
    stages = "".join(
        f"FROM {BUSYBOX_IMAGE} AS s{index}\nRUN sleep 3 && echo {index} > /out{index}\n"
        for index in range(4)
    )
    copies = "".join(f"COPY --from=s{index} /out{index} /out{index}\n" for index in range(4))
    (context / "Dockerfile").write_text(f"{stages}FROM {BUSYBOX_IMAGE}\n{copies}")
    builders.prune_docker()
    measure(
        rows,
        "4 independent 3 s stages: cold",
        lambda: builders.dockyard(env, context, "bench-parallel", "--no-cache"),
        lambda: builders.docker(context, "bench-parallel", "--no-cache"),
        1,
    )


def bench_go(builders: Builders, rows: list[tuple[str, float, float]], rounds: int) -> None:
    from images import debian_rootfs, docker_image

    tarball = debian_rootfs(include=("golang-go", "ca-certificates"))
    docker_image(tarball, "golang:local")
    env = builders.fresh_store()
    builders.load_base(env, tarball, "golang:local")
    warm_base(builders, env, "golang:local", builders.work)
    app = builders.work / "go"
    shutil.copytree(REPO / "examples" / "go-multistage", app)
    dockerfile = next(
        p for p in app.iterdir() if "multi" in p.name.lower() or p.name == "Dockerfile"
    )
    builders.prune_docker()
    measure(
        rows,
        "Go multistage: cold",
        lambda: builders.dockyard(env, app, "bench-go", "-f", str(dockerfile)),
        lambda: builders.docker(app, "bench-go", "-f", str(dockerfile)),
        1,
    )
    time.sleep(0.2)
    measure(
        rows,
        "Go multistage: no-op",
        lambda: builders.dockyard(env, app, "bench-go", "-f", str(dockerfile)),
        lambda: builders.docker(app, "bench-go", "-f", str(dockerfile)),
        rounds,
    )


WORKLOADS = {
    "seed": bench_seed,
    "runs": bench_runs,
    "copy": bench_copy,
    "parallel": bench_parallel,
    "go": bench_go,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default=",".join(WORKLOADS))
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-build-", dir=args.dir))
    builders = Builders(work)
    rows: list[tuple[str, float, float]] = []
    try:
        for name in args.only.split(","):
            print(f"{name}:", flush=True)
            WORKLOADS[name](builders, rows, args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print("| workload | dockyard (s) | docker build (s) | ratio |")
    print("|---|---:|---:|---:|")
    for name, mine, theirs in rows:
        ratio = f"{mine / theirs:.2f}" if theirs else "-"
        docker = f"{theirs:.3f}" if theirs else "-"
        print(f"| {name} | {mine:.3f} | {docker} | {ratio} |")


if __name__ == "__main__":
    main()
