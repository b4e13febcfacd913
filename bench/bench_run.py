"""Container start-to-exit latency and published-port throughput (not a test).

    PYTHONPATH=src python bench/bench_run.py [--runs N] [--megabytes M]

Builds a busybox image in a private store (and the same root file system imported
into Docker), then measures, as medians over N runs:

- ``dockyard run --rm IMAGE true``
- ``docker run --rm --network none IMAGE true`` (same content, ``docker import``)
- ``runc run`` alone on a prepared bundle (the floor: no image, no Python)

and the throughput of M megabytes into a TCP sink in a container, through the
``-p`` proxy versus straight over loopback (``--network host``, no proxy).
Needs root, runc and (for the Docker line) a running dockerd.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "src"))

from dockyard.runtime.spec import ProcessSpec, SpecOptions, build_spec  # noqa: E402
from runtime.helpers import make_busybox_rootfs, store_image  # noqa: E402

IMAGE = "dockyard-bench-busybox"


def timed(command: list[str], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - started)
    return samples


def report(label: str, samples: list[float]) -> None:
    median = statistics.median(samples) * 1000
    low = min(samples) * 1000
    print(f"{label:<48} median {median:7.1f} ms   min {low:7.1f} ms")


def runc_alone(rootfs: Path, work: Path, runs: int) -> list[float]:
    bundle = work / "bundle"
    bundle.mkdir()
    options = SpecOptions(rootfs=rootfs, network="none", hostname="bench")
    spec = build_spec(ProcessSpec(args=("/bin/true",), env=("PATH=/bin",)), options)
    (bundle / "config.json").write_text(json.dumps(spec))
    state = work / "runc-state"
    command = ["runc", "--root", str(state), "run", "--bundle", str(bundle), "bench"]
    return timed(command, runs)


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


def docker_import(rootfs: Path) -> None:
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    subprocess.run(
        ["docker", "import", "-", IMAGE], stdin=tar.stdout, check=True, capture_output=True
    )
    tar.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def send(port: int, megabytes: int) -> float:
    """Seconds to push ``megabytes`` into the sink and see it close."""
    chunk = os.urandom(1 << 20)
    deadline = time.monotonic() + 20
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port))
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    with sock:
        started = time.perf_counter()
        for _ in range(megabytes):
            sock.sendall(chunk)
        sock.shutdown(socket.SHUT_WR)
        sock.recv(1)  # EOF once the sink has read everything and exited
        return time.perf_counter() - started


def throughput(dockyard: list[str], megabytes: int, *, proxied: bool) -> float:
    port = free_port()
    inner = 7000 if proxied else port
    network = ["-p", f"127.0.0.1:{port}:{inner}"] if proxied else ["--network", "host"]
    sink = ["sh", "-c", f"nc -l -p {inner} > /dev/null"]
    subprocess.run(
        [*dockyard, "run", "-d", "--rm", *network, IMAGE, *sink],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    seconds = send(port, megabytes)
    return megabytes / seconds


def wait_all_removed(dockyard: list[str]) -> None:
    """The --rm containers of the throughput runs are gone (their mounts too)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        listing = subprocess.run([*dockyard, "ps", "-aq"], capture_output=True, text=True)
        if not listing.stdout.strip():
            return
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--megabytes", type=int, default=512)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as temporary:
        work = Path(temporary)
        rootfs = make_busybox_rootfs(work / "rootfs")
        os.environ["DOCKYARD_ROOT"] = str(work / "store")
        store_image(work / "store", IMAGE, rootfs, env=("PATH=/bin",))
        dockyard = [sys.executable, "-m", "dockyard"]
        os.environ["PYTHONPATH"] = str(REPO / "src")
        # Measure an installed dockyard: byte code compiled once, not on every start.
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src")], check=True)

        print(f"start-to-exit of `true`, {options.runs} runs each")
        timed([*dockyard, "run", "--rm", IMAGE, "true"], 2)  # unpack layers, warm caches
        report(
            "dockyard run --rm IMAGE true",
            timed([*dockyard, "run", "--rm", IMAGE, "true"], options.runs),
        )
        if docker_available():
            docker_import(rootfs)
            command = ["docker", "run", "--rm", "--network", "none", IMAGE, "true"]
            timed(command, 2)
            report("docker run --rm --network none IMAGE true", timed(command, options.runs))
            subprocess.run(["docker", "rmi", "-f", IMAGE], capture_output=True, check=False)
        else:
            print("docker: not available, skipped")
        report("runc run (bundle prepared, the floor)", runc_alone(rootfs, work, options.runs))
        report(
            "python -c pass (interpreter start)",
            timed([sys.executable, "-c", "pass"], options.runs),
        )

        print(f"\nTCP throughput, {options.megabytes} MB into `nc -l` in a container")
        proxied = throughput(dockyard, options.megabytes, proxied=True)
        direct = throughput(dockyard, options.megabytes, proxied=False)
        wait_all_removed(dockyard)
        print(f"{'through the -p proxy':<48} {proxied:8.0f} MB/s")
        print(f"{'direct loopback (--network host)':<48} {direct:8.0f} MB/s")


if __name__ == "__main__":
    main()
