"""``--progress=tty``: BuildKit's redrawn status block on a terminal.

One line per step (``=> [2/4] RUN npm install  3.1s``, ``=> CACHED [3/4] COPY ...``)
under a ``[+] Building 4.2s (3/5)`` header, redrawn in place with ANSI cursor moves
whenever something happens; a running step shows its latest output line beneath it.
"""

from __future__ import annotations

import shutil
import time
from typing import TextIO

from dockyard.solver.progress import Progress


class TtyProgress(Progress):
    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__("tty", stream)
        self._rows: dict[str, list[str]] = {}  # key -> [name, status, last output line]
        self._times: dict[str, tuple[float, float | None]] = {}
        self._begun = time.monotonic()
        self._drawn = 0

    def _emit(self, key: str, text: str) -> None:
        now = time.monotonic()
        row = self._rows.get(key)
        if row is None:
            self._rows[key] = [text, "running", ""]
            self._times[key] = (now, None)
        elif text == "CACHED":
            row[1] = "cached"
            self._times[key] = (self._times[key][0], now)
        elif text.startswith("DONE"):
            row[1] = "done"
            self._times[key] = (self._times[key][0], now)
        elif text.startswith("ERROR"):
            row[1] = "error"
            row[2] = text
            self._times[key] = (self._times[key][0], now)
        else:
            _, _, line = text.partition(" ")
            row[2] = line
        self._draw(now)

    def _frame(self, now: float) -> list[str]:
        width = max(40, shutil.get_terminal_size((100, 20)).columns - 1)
        finished = sum(1 for row in self._rows.values() if row[1] != "running")
        lines = [f"[+] Building {now - self._begun:.1f}s ({finished}/{len(self._rows)})"]
        for key, (name, status, last) in self._rows.items():
            start, end = self._times[key]
            seconds = f"{(end or now) - start:.1f}s"
            label = f" => {'CACHED ' if status == 'cached' else ''}{name}"
            if status == "error":
                label = f" => ERROR {name}"
            room = width - len(seconds) - 1
            lines.append(f"{label[:room]:<{room}} {seconds}")
            if status in ("running", "error") and last:
                lines.append(f" > {last}"[:width])
        return lines

    def _draw(self, now: float) -> None:
        lines = self._frame(now)
        if self._drawn:
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()
        self._drawn = len(lines)

    def finish(self) -> None:
        with self._lock:
            if self._rows:
                self._draw(time.monotonic())
