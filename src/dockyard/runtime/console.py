"""Terminals: runc hands the pty master over a unix socket (``--console-socket``);
dockyard copies between it and the user's terminal, kept raw while attached."""

from __future__ import annotations

import array
import contextlib
import fcntl
import os
import shutil
import signal
import socket
import struct
import sys
import tempfile
import termios
import threading
import tty
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

from dockyard.errors import RuntimeError_


class ConsoleSocket:
    """Listens where runc sends the pty master; the path is short (sun_path limit)."""

    def __init__(self) -> None:
        self._directory = Path(tempfile.mkdtemp(prefix="dy-tty-"))
        self.path = str(self._directory / "sock")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(1)
        self._result: list[int | BaseException] = []
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        try:
            connection, _ = self._listener.accept()
            with connection:
                _, fds, _, _ = socket.recv_fds(connection, 4096, 1)
            self._result.append(fds[0])
        except (OSError, IndexError) as error:
            self._result.append(error)

    def master(self, timeout: float = 30.0) -> int:
        self._thread.join(timeout)
        if not self._result or not isinstance(self._result[0], int):
            raise RuntimeError_("runc did not hand over the container's terminal")
        return self._result[0]

    def close(self) -> None:
        self._listener.close()
        shutil.rmtree(self._directory, ignore_errors=True)


def copy_master_output(master: int, sink: Callable[[bytes], None]) -> threading.Thread:
    def run() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO once every slave end is closed
                return
            if not chunk:
                return
            sink(chunk)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def copy_input(source: int, master: int) -> threading.Thread:
    def run() -> None:
        with contextlib.suppress(OSError):
            while chunk := os.read(source, 65536):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(master, view) :]

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def copy_window_size(source: int, target: int) -> None:
    with contextlib.suppress(OSError):
        size = array.array("H", [0, 0, 0, 0])
        fcntl.ioctl(source, termios.TIOCGWINSZ, size, True)
        fcntl.ioctl(target, termios.TIOCSWINSZ, struct.pack("HHHH", *size))


@contextlib.contextmanager
def attached_terminal(master_fd: Callable[[], int | None]) -> Iterator[None]:
    """Our terminal in raw mode (restored at the end), window size followed."""
    stdin = sys.stdin.fileno()
    if not os.isatty(stdin):
        yield
        return
    saved = termios.tcgetattr(stdin)

    def resized(_signum: int, _frame: FrameType | None) -> None:
        master = master_fd()
        if master is not None:
            copy_window_size(stdin, master)

    previous = signal.signal(signal.SIGWINCH, resized)
    tty.setraw(stdin)
    try:
        yield
    finally:
        termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGWINCH, previous)
