"""Build progress, printed like BuildKit's ``--progress=plain``.

Vertices are numbered in the order they are first reported (``#5``). A vertex prints
its name when it starts, its output lines prefixed with the seconds since it started,
then ``CACHED``, ``DONE 1.2s`` or ``ERROR``. ``quiet`` prints nothing; ``rawjson``
prints one JSON event per line.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


class Progress:
    """Thread-safe progress writer (``mode``: plain, quiet or rawjson)."""

    def __init__(self, mode: str = "plain", stream: TextIO | None = None) -> None:
        self.mode = mode
        self.stream = stream if stream is not None else sys.stderr
        self._lock = threading.Lock()
        self._numbers: dict[str, int] = {}
        self._started: dict[str, float] = {}
        self._partial: dict[str, bytes] = {}
        self._last: str | None = None
        self.tails: dict[str, list[str]] = {}
        # (name, "source" | "step") of every named vertex, for the no-op replay.
        self.steps: list[tuple[str, str]] = []

    def _number(self, key: str) -> int:
        number = self._numbers.get(key)
        if number is None:
            number = len(self._numbers) + 1
            self._numbers[key] = number
        return number

    def _emit(self, key: str, text: str) -> None:
        if self.mode == "quiet":
            return
        number = self._number(key)
        if self.mode == "rawjson":
            import json

            event = {"vertex": number, "time": time.time(), "text": text}
            self.stream.write(json.dumps(event) + "\n")
        else:
            self.stream.write(f"#{number} {text}\n")
        self.stream.flush()

    def _switch(self, key: str, name: str) -> None:
        """Plain output re-announces a vertex when another one printed in between."""
        if self._last != key and self._last is not None and self.mode == "plain":
            self.stream.write("\n")
            if key in self._started:
                self._emit(key, name)
        self._last = key

    def start(self, key: str, name: str, *, kind: str = "step") -> None:
        with self._lock:
            self.steps.append((name, kind))
            self._switch(key, name)
            self._started[key] = time.monotonic()
            self._emit(key, name)

    def cached(self, key: str, name: str) -> None:
        with self._lock:
            self.steps.append((name, "step"))
            self._switch(key, name)
            if key not in self._started:
                self._emit(key, name)
            self._emit(key, "CACHED")

    def output(self, key: str, name: str, chunk: bytes) -> None:
        with self._lock:
            data = self._partial.pop(key, b"") + chunk
            lines = data.split(b"\n")
            self._partial[key] = lines.pop()
            self._write_lines(key, name, lines)

    def _write_lines(self, key: str, name: str, lines: list[bytes]) -> None:
        if not lines:
            return
        self._switch(key, name)
        elapsed = time.monotonic() - self._started.get(key, time.monotonic())
        tail = self.tails.setdefault(key, [])
        for raw in lines:
            line = raw.decode("utf-8", "replace").rstrip("\r")
            tail.append(line)
            self._emit(key, f"{elapsed:.3f} {line}")
        del tail[:-20]

    def done(self, key: str, name: str, *, error: str | None = None) -> None:
        with self._lock:
            rest = self._partial.pop(key, b"")
            if rest:
                self._write_lines(key, name, [rest])
            self._switch(key, name)
            elapsed = time.monotonic() - self._started.get(key, time.monotonic())
            if error is not None:
                self._emit(key, f"ERROR: {error}")
            else:
                self._emit(key, f"DONE {elapsed:.1f}s")

    def note(self, key: str, name: str, text: str) -> None:
        """A line inside a vertex that is not process output (``writing image ...``)."""
        with self._lock:
            self._switch(key, name)
            self._emit(key, text)

    def tail(self, key: str, lines: int = 10) -> list[str]:
        return list(self.tails.get(key, [])[-lines:])

    def finish(self) -> None:
        with self._lock:
            if self._last is not None and self.mode == "plain":
                self.stream.write("\n")
                self.stream.flush()
