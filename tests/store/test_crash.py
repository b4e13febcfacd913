"""kill -9 at random instants of load, save and rmi: the store stays clean and usable.
Several processes changing one store at once lose no update."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dockyard.store import Store, validate_image

ENV_BASE = {**os.environ}


def _dockyard(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "dockyard", *args], capture_output=True,
                          env={**ENV_BASE, "DOCKYARD_ROOT": str(root)}, check=False)  # fmt: skip


def _ok(root: Path, *args: str) -> str:
    result = _dockyard(root, *args)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def _big_tree(target: Path, files: int, size: int) -> Path:
    rng = random.Random(7)
    for index in range(files):
        path = target / f"d{index % 10}" / f"f{index}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(size))
    return target


def _assert_clean(root: Path) -> None:
    result = _dockyard(root, "system", "check")
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert b"Traceback" not in result.stderr


def _kill_at_random(root: Path, args: list[str], longest: float, rng: random.Random) -> None:
    process = subprocess.Popen([sys.executable, "-m", "dockyard", *args],
                               env={**ENV_BASE, "DOCKYARD_ROOT": str(root)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    time.sleep(rng.uniform(0, longest))
    process.send_signal(signal.SIGKILL)
    process.wait()


@pytest.mark.slow
def test_kill_minus_nine_during_load_save_and_rmi(tmp_path: Path) -> None:
    root = tmp_path / "store"
    source = _big_tree(tmp_path / "tree", files=40, size=1 << 20)
    _ok(root, "import", str(source), "dyst/big:1")
    second = _big_tree(tmp_path / "tree2", files=20, size=1 << 20)
    _ok(root, "import", str(second), "dyst/big:2")
    archive = tmp_path / "big.tar"
    started = time.monotonic()
    _ok(root, "save", "-o", str(archive), "dyst/big:1", "dyst/big:2")
    save_time = time.monotonic() - started
    _ok(root, "rmi", "dyst/big:1", "dyst/big:2")
    started = time.monotonic()
    _ok(root, "load", "-i", str(archive))
    load_time = time.monotonic() - started

    rng = random.Random(int(os.environ.get("DOCKYARD_CRASH_SEED", "1")))
    interrupted = 0
    for round_number in range(10):
        _ok(root, "rmi", "dyst/big:1", "dyst/big:2")
        _kill_at_random(root, ["load", "-i", str(archive)], load_time, rng)
        _assert_clean(root)
        interrupted += len(_ok(root, "images", "-q").split()) < 2
        _ok(root, "load", "-i", str(archive))  # the next command works
        output = tmp_path / f"out-{round_number}.tar"
        _kill_at_random(root, ["save", "-o", str(output), "dyst/big:1"], save_time, rng)
        assert not output.exists() or output.stat().st_size > 0
        _kill_at_random(root, ["rmi", "dyst/big:2"], 0.6, rng)
        _assert_clean(root)
        _dockyard(root, "rmi", "dyst/big:2")
        _ok(root, "load", "-i", str(archive))
        assert sorted(_ok(root, "images", "--format", "{{.Tag}}").split()) == ["1", "2"]
    assert interrupted > 0, "no kill landed before a load finished: the test proved nothing"

    # Unpacking (temp dir + rename) and garbage collection (records first, trash dirs).
    unpack = ("import sys\nfrom dockyard.store import Store\n"
              "from dockyard.archive.layers import ensure_unpacked\n"
              "with Store.open() as store:\n"
              "    for image in store.images():\n"
              "        for diff_id in image.diff_ids:\n"
              "            ensure_unpacked(store, diff_id)\n")  # fmt: skip
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", unpack], env={**ENV_BASE, "DOCKYARD_ROOT": str(root)}, check=True
    )
    unpack_time = time.monotonic() - started
    for _ in range(4):
        _ok(root, "system", "prune", "-a", "-f")
        _ok(root, "load", "-i", str(archive))
        process = subprocess.Popen([sys.executable, "-c", unpack],
                                   env={**ENV_BASE, "DOCKYARD_ROOT": str(root)})  # fmt: skip
        time.sleep(rng.uniform(0, unpack_time))
        process.send_signal(signal.SIGKILL)
        process.wait()
        _assert_clean(root)
        _ok(root, "rmi", "dyst/big:2")
        _kill_at_random(root, ["system", "prune", "-f"], 0.8, rng)
        _assert_clean(root)
        _ok(root, "load", "-i", str(archive))
    _ok(root, "system", "prune", "-f")
    assert list((root / "ingest").iterdir()) == []
    with Store.open(root) as store:
        for image in store.images():
            validate_image(store, image)


def test_concurrent_tags_and_loads_lose_nothing(tmp_path: Path) -> None:
    root = tmp_path / "store"
    tree = _big_tree(tmp_path / "tree", files=3, size=1000)
    _ok(root, "import", str(tree), "dyst/base:1")
    archive = tmp_path / "base.tar"
    _ok(root, "save", "-o", str(archive), "dyst/base:1")

    def worker(number: int) -> None:
        for tag in range(3):
            _ok(root, "tag", "dyst/base:1", f"dyst/c{number}:{tag}")
        _ok(root, "load", "-i", str(archive))

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(worker, range(6)))
    names = set(_ok(root, "images", "--format", "{{.Repository}}:{{.Tag}}").split())
    assert names == {"dyst/base:1"} | {f"dyst/c{n}:{t}" for n in range(6) for t in range(3)}
    index = json.loads((root / "index.json").read_text())
    assert len(index["manifests"]) == 19
    _assert_clean(root)


def test_prune_waits_for_a_command_that_holds_the_store(tmp_path: Path) -> None:
    root = tmp_path / "store"
    with Store.open(root) as store:
        orphan = store.write_blob(b"nobody names me", "application/octet-stream")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom dockyard.store import Store\n"
         f"store = Store.open({str(root)!r}); store.hold(); print('held', flush=True)\n"
         "sys.stdin.readline()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline() == "held\n"
    prune = subprocess.Popen([sys.executable, "-m", "dockyard", "system", "prune", "-f"],
                             env={**ENV_BASE, "DOCKYARD_ROOT": str(root)},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert prune.stderr is not None
    assert b"waiting for running dockyard commands" in prune.stderr.readline()
    with Store.open(root) as store:
        assert store.has_blob(orphan.digest)  # nothing deleted while the holder runs
    holder.stdin.write("\n")
    holder.stdin.flush()
    holder.wait()
    assert prune.wait() == 0
    with Store.open(root) as store:
        assert not store.has_blob(orphan.digest)
