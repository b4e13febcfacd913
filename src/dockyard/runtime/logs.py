"""Container output as Docker's json-file log: one JSON object per line of output.

``{"log": "hello\\n", "stream": "stdout", "time": "2026-...Z"}``. Bytes that are not
UTF-8 survive the round trip (surrogate escapes).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from dockyard.runtime.records import now


class LogWriter:
    """Appends lines of the container's streams; partial lines wait for the rest."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        self._lock = threading.Lock()
        self._pending: dict[str, bytes] = {}

    def sink(
        self, stream: str, tee: Callable[[bytes], None] | None = None
    ) -> Callable[[bytes], None]:
        def write(chunk: bytes) -> None:
            if tee is not None:
                tee(chunk)
            self._append(stream, chunk)

        return write

    def _append(self, stream: str, chunk: bytes) -> None:
        with self._lock:
            data = self._pending.pop(stream, b"") + chunk
            lines = data.split(b"\n")
            rest = lines.pop()
            if len(rest) > 16384:
                lines.append(rest)
                rest = b""
            if rest:
                self._pending[stream] = rest
            stamp = now()
            records = [
                self._record(stream, line + b"\n" if i < len(lines) or not rest else line, stamp)
                for i, line in enumerate(lines, 1)
            ]
            if records:
                os.write(self._fd, b"".join(records))

    @staticmethod
    def _record(stream: str, data: bytes, stamp: str) -> bytes:
        text = data.decode("utf-8", errors="surrogateescape")
        return (json.dumps({"log": text, "stream": stream, "time": stamp}) + "\n").encode()

    def close(self) -> None:
        with self._lock:
            stamp = now()
            for stream, rest in self._pending.items():
                os.write(self._fd, self._record(stream, rest, stamp))
            self._pending.clear()
        os.close(self._fd)


def _decode(line: bytes) -> tuple[str, bytes] | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return str(entry.get("stream", "stdout")), str(entry.get("log", "")).encode(
        "utf-8", errors="surrogateescape"
    )


def read_logs(
    path: Path, *, tail: int | None = None, follow: Callable[[], bool] | None = None
) -> Iterator[tuple[str, bytes]]:
    """(stream, data) pairs; with ``follow``, keeps reading while it returns True."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - kept open while following
    except FileNotFoundError:
        return
    with handle:
        lines = handle.readlines()
        if tail is not None:
            lines = lines[-tail:] if tail > 0 else []
        pending = b""
        for line in lines:
            if not line.endswith(b"\n"):
                pending = line
                break
            if (decoded := _decode(line)) is not None:
                yield decoded
        if follow is None:
            return
        while True:
            chunk = handle.readline()
            if chunk:
                pending += chunk
                if pending.endswith(b"\n"):
                    if (decoded := _decode(pending)) is not None:
                        yield decoded
                    pending = b""
                continue
            if not follow():
                # One last read: the writer may have flushed just before exiting.
                rest = handle.read()
                for line in (pending + rest).splitlines():
                    if (decoded := _decode(line)) is not None:
                        yield decoded
                return
            time.sleep(0.05)
