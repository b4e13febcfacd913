"""``dockyard build`` of an unchanged build, answered before argparse or the engine load.

A no-op rebuild is mostly interpreter start-up: parsing the command line with
argparse and resolving paths with pathlib would import ``argparse``, ``gettext``,
``pathlib``, ``re`` and ``typing`` (over 10 ms, more than the rest of the work). This
module reads the common form of the command line by hand -- ``-t``, ``-f``, ``-q``,
``--build-arg``, ``--label``, ``--target``, ``--network``, ``--progress``,
``--iidfile`` and the context directory -- and asks the build record
(solver/fastpath.py) whether the same build is already done. Anything else (another
option, an abbreviation, a value that looks like an option, stdin, a bad value) is
left to the full command, which parses with argparse and reports errors; so is every
build whose record does not match.

The helpers that turn arguments into the build request (build args, labels,
SOURCE_DATE_EPOCH, where the Dockerfile is, the progress mode) live here and are used
by the full command too, so both compute the same request key.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing itself costs milliseconds here
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

# option -> attribute of QuickArgs, for the options that take a value
_VALUE_OPTIONS = {
    "-t": "tags",
    "--tag": "tags",
    "-f": "file",
    "--file": "file",
    "--build-arg": "build_args",
    "--label": "labels",
    "--target": "target",
    "--network": "network",
    "--progress": "progress",
    "--iidfile": "iidfile",
}
_REPEATED = frozenset({"tags", "build_args", "labels"})
_CHOICES = {
    "network": ("default", "host", "none"),
    "progress": ("auto", "plain", "tty", "quiet", "rawjson"),
}


class QuickArgs:
    """The command line of a build in the form this module reads."""

    __slots__ = (
        "build_args",
        "context",
        "file",
        "iidfile",
        "labels",
        "network",
        "progress",
        "quiet",
        "tags",
        "target",
    )

    def __init__(self) -> None:
        self.context: str | None = None
        self.tags: list[str] = []
        self.file: str | None = None
        self.build_args: list[str] = []
        self.labels: list[str] = []
        self.target: str | None = None
        self.network = "default"
        self.progress = "auto"
        self.iidfile: str | None = None
        self.quiet = False


def parse(argv: Iterable[str]) -> QuickArgs | None:
    """The arguments, if every one of them is of the common form; else None.

    Where this returns arguments, argparse (cli/build.py ``configure``) gives the same.
    """
    args = QuickArgs()
    tokens = iter(argv)
    for token in tokens:
        if token in ("-q", "--quiet"):
            args.quiet = True
            continue
        if not token.startswith("-"):
            if args.context is not None:
                return None
            args.context = token
            continue
        option, has_value, value = token.partition("=")
        attribute = _VALUE_OPTIONS.get(option)
        if attribute is None or (has_value and not option.startswith("--")):
            return None
        if not has_value:
            value = next(tokens, "-")
        if value.startswith("-"):
            return None
        if value not in _CHOICES.get(attribute, (value,)):
            return None
        if attribute in _REPEATED:
            getattr(args, attribute).append(value)
        else:
            setattr(args, attribute, value)
    return args if args.context is not None else None


def key_values(items: Iterable[str], *, env_fallback: bool = False) -> dict[str, str]:
    """``K=V`` items as a dict; a bare ``K`` takes the environment's value (build args).

    Raises ValueError naming the first malformed item.
    """
    values: dict[str, str] = {}
    for item in items:
        key, has_value, value = item.partition("=")
        if not key or (not has_value and not env_fallback):
            raise ValueError(item)
        if not has_value:
            if key not in os.environ:
                continue
            value = os.environ[key]
        values[key] = value
    return values


def source_date_epoch(build_args: Mapping[str, str]) -> int | None:
    """SOURCE_DATE_EPOCH from the build args, else the environment (ValueError if bad)."""
    value = build_args.get("SOURCE_DATE_EPOCH") or os.environ.get("SOURCE_DATE_EPOCH")
    if not value:
        return None
    if not value.isdigit():
        raise ValueError(value)
    return int(value)


def dockerfile_location(file: str | None, context: str | None) -> str | None:
    """Where the Dockerfile is, by Docker's rule; None when there is no context and no -f.

    ``-f`` is relative to the current directory, else to the context; without ``-f``
    it is ``CONTEXT/Dockerfile``, falling back to ``CONTEXT/Containerfile``.
    """
    if file:
        if not os.path.isabs(file) and context is not None and not os.path.exists(file):
            return os.path.join(context, file)
        return file
    if context is None:
        return None
    path = os.path.join(context, "Dockerfile")
    if not os.path.exists(path):
        fallback = os.path.join(context, "Containerfile")
        if os.path.exists(fallback):
            return fallback
    return path


def progress_mode(progress: str, quiet: bool) -> str:
    """``--progress`` with ``auto`` decided: tty on a terminal, else plain."""
    mode = "quiet" if quiet or progress == "quiet" else progress
    if mode == "auto":
        mode = "tty" if sys.stderr.isatty() and os.environ.get("TERM") != "dumb" else "plain"
    return mode


def recorded_image(
    *,
    dockerfile: bytes,
    dockerfile_path: str | None,
    context_dir: str,
    build_args: Mapping[str, str],
    labels: Mapping[str, str],
    target: str | None,
    network: str,
    tags: Sequence[str],
    source_date_epoch: int | None,
    secrets: Iterable[str],
    mode: str,
) -> str | None:
    """The image of an identical earlier build none of whose inputs changed, its progress
    printed as BuildKit prints a cached build; None if there is no such build."""
    from dockyard.solver import fastpath

    key = fastpath.request_key(
        dockerfile=dockerfile,
        dockerfile_path=dockerfile_path,
        context_dir=context_dir,
        build_args=build_args,
        target=target,
        labels=labels,
        network=network,
        tags=tags,
        source_date_epoch=source_date_epoch,
        secrets=secrets,
    )
    record = fastpath.lookup(fastpath.store_root(), key, context_dir)
    if record is None:
        return None
    fastpath.replay(record, sys.stderr, mode)
    return str(record["image_id"])


def unchanged_rebuild(args: QuickArgs) -> int | None:
    """Exit code of a build answered from its record (0), or None: run the full command."""
    if args.context is None or not os.path.isdir(args.context):
        return None
    located = dockerfile_location(args.file, args.context)
    if located is None:
        return None
    try:
        build_args = key_values(args.build_args, env_fallback=True)
        labels = key_values(args.labels)
        epoch = source_date_epoch(build_args)
        with open(located, "rb") as source:
            dockerfile = source.read()
    except (ValueError, OSError):
        return None
    image_id = recorded_image(
        dockerfile=dockerfile,
        dockerfile_path=os.path.realpath(located),
        context_dir=os.path.realpath(args.context),
        build_args=build_args,
        labels=labels,
        target=args.target,
        network=args.network,
        tags=args.tags,
        source_date_epoch=epoch,
        secrets=(),
        mode=progress_mode(args.progress, args.quiet),
    )
    if image_id is None:
        return None
    if args.iidfile:
        with open(args.iidfile, "w") as out:
            out.write(image_id)
    if args.quiet:
        print(image_id)
    return 0
