"""overlayfs mounts over unpacked layers: a read-only stack or a writable snapshot.

The kernel takes mount options in one page (4096 bytes). A deep stack of long
absolute ``lowerdir`` paths overflows it, so when the options do not fit, a forked
child changes into the layers' common parent directory and mounts with short
relative paths (containerd's trick; the child does nothing but ``chdir`` and
``mount``). Writable mounts turn off ``redirect_dir`` and ``metacopy`` so that the
upper directory is always a plain diff: every changed file whole, renamed
directories copied, deletions as whiteouts (see :mod:`dockyard.fs.layer`).
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from dockyard.errors import MountError

MS_RDONLY = 0x1
MS_BIND = 0x1000
MS_REMOUNT = 0x20
MNT_DETACH = 0x2
PAGE_LIMIT = 4096
_UPPER_OPTIONS = "redirect_dir=off,metacopy=off"
_VOLATILE = ",volatile"

# The process already links libc: dlopen(NULL) finds mount/umount2 without
# ctypes.util.find_library, which forks ldconfig (milliseconds on every build).
_libc = ctypes.CDLL(None, use_errno=True)
_mount = _libc.mount
_mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                   ctypes.c_char_p]  # fmt: skip
_mount.restype = ctypes.c_int
_umount2 = _libc.umount2
_umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_umount2.restype = ctypes.c_int


def overlay_supported() -> bool:
    """True when the kernel offers overlayfs (as root, no other checks)."""
    try:
        with open("/proc/filesystems") as filesystems:
            return any(line.split()[-1] == "overlay" for line in filesystems if line.strip())
    except OSError:
        return False


def _check_path(path: str) -> str:
    if any(char in path for char in ",:\n"):
        raise MountError(
            f"cannot use {path!r} in an overlay mount: it contains ',' or ':'",
            "move the store to a path without commas or colons",
        )
    return path


def _mount_call(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> int:
    result = _mount(
        source.encode(),
        target.encode(),
        fstype.encode() if fstype else None,
        flags,
        data.encode() if data is not None else None,
    )
    return 0 if result == 0 else ctypes.get_errno()


def _raise_mount(errno_value: int, target: str, what: str) -> None:
    raise MountError(
        f"cannot mount {what} on {target}: {os.strerror(errno_value)}",
        "dockyard needs root and a kernel with overlayfs for this",
    )


def _bind(source: str, target: str, *, readonly: bool) -> None:
    error = _mount_call(source, target, None, MS_BIND, None)
    if error:
        _raise_mount(error, target, f"a bind mount of {source}")
    if readonly:
        error = _mount_call("none", target, None, MS_BIND | MS_REMOUNT | MS_RDONLY, None)
        if error:
            unmount(target)
            _raise_mount(error, target, "a read-only remount")


def _options(lowers: Sequence[str], upper: str | None, work: str | None) -> str:
    # The kernel lists the topmost lower first; callers give image order (base first).
    options = "lowerdir=" + ":".join(reversed(lowers))
    if upper is not None:
        options += f",upperdir={upper},workdir={work},{_UPPER_OPTIONS}"
    return options


def mount_overlay(
    lowers: Sequence[Path | str],
    target: Path | str,
    *,
    upper: Path | str | None = None,
    work: Path | str | None = None,
    volatile: bool = False,
) -> None:
    """Mount ``lowers`` (base layer first) with an optional writable ``upper`` on ``target``.

    ``work`` is required with ``upper``: an empty directory on the upper's filesystem.
    One lower and no upper is a read-only bind mount; no lowers and an upper is a
    writable bind mount of the upper (a snapshot of ``scratch``).

    ``volatile``: the overlay never syncs. Unmounting an overlay otherwise syncs the
    whole filesystem of its upper dir (every dirty page of every process on that disk:
    tenths of seconds on a busy machine, for each step). A build step's upper dir is
    read into a layer blob, which the store syncs itself; its work dir is never reused.
    """
    target_text = os.path.abspath(target)
    lower_texts = [_check_path(os.path.abspath(lower)) for lower in lowers]
    upper_text = _check_path(os.path.abspath(upper)) if upper is not None else None
    if upper_text is not None and work is None:
        raise ValueError("an overlay with an upper directory needs a work directory")
    work_text = _check_path(os.path.abspath(work)) if work is not None else None
    if not lower_texts:
        if upper_text is None:
            raise ValueError("an overlay needs at least one lower or an upper directory")
        _bind(upper_text, target_text, readonly=False)
        return
    if len(lower_texts) == 1 and upper_text is None:
        _bind(lower_texts[0], target_text, readonly=True)
        return
    extra = _VOLATILE if volatile and upper_text is not None else ""
    options = _options(lower_texts, upper_text, work_text) + extra
    if len(options) < PAGE_LIMIT:
        error = _mount_call("overlay", target_text, "overlay", 0, options)
    else:
        error = _mount_relative(lower_texts, target_text, upper_text, work_text, extra)
    if error:
        _raise_mount(error, target_text, f"an overlay of {len(lower_texts)} layers")


def _mount_relative(
    lowers: list[str], target: str, upper: str | None, work: str | None, extra: str = ""
) -> int:
    common = os.path.commonpath(lowers)
    if common in lowers:
        common = os.path.dirname(common)
    relative = [os.path.relpath(lower, common) for lower in lowers]
    options = _options(relative, upper, work) + extra
    if len(options) >= PAGE_LIMIT:
        raise MountError(
            f"cannot mount an overlay of {len(lowers)} layers on {target}: "
            "the mount options exceed one page even with relative paths",
            "squash the image into fewer layers",
        )
    arguments = (b"overlay", target.encode(), b"overlay", 0, options.encode())
    common_bytes = common.encode()
    pid = os.fork()
    if pid == 0:  # the child: chdir and mount only, then leave at once
        code = 0
        try:
            os.chdir(common_bytes)
            if _mount(*arguments) != 0:
                code = ctypes.get_errno() or 1
        except BaseException:
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def unmount(target: Path | str, *, detach: bool = False) -> None:
    """Unmount ``target``; ``detach`` makes it lazy (MNT_DETACH) when still busy."""
    target_text = os.path.abspath(target)
    if _umount2(target_text.encode(), MNT_DETACH if detach else 0) != 0:
        error = ctypes.get_errno()
        raise MountError(f"cannot unmount {target_text}: {os.strerror(error)}")


@contextmanager
def overlay(
    lowers: Sequence[Path | str],
    target: Path | str,
    *,
    upper: Path | str | None = None,
    work: Path | str | None = None,
) -> Iterator[Path]:
    """Mount for the duration of a ``with`` block; yields the target."""
    mount_overlay(lowers, target, upper=upper, work=work)
    try:
        yield Path(target)
    finally:
        try:
            unmount(target)
        except MountError:
            unmount(target, detach=True)  # still busy: detach now, freed when released
