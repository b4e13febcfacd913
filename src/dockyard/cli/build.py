"""``dockyard build``: Dockerfile + context -> image in the store, BuildKit's output."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dockyard.cli.quickbuild import (
    dockerfile_location,
    key_values,
    progress_mode,
    recorded_image,
    source_date_epoch,
)


def configure(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument("context", metavar="CONTEXT", help="context directory, or - for stdin")
    parser.add_argument("-t", "--tag", action="append", default=[], help="name:tag (repeatable)")
    parser.add_argument("-f", "--file", help="Dockerfile (default: CONTEXT/Dockerfile); - = stdin")
    parser.add_argument("--build-arg", action="append", default=[], metavar="K[=V]")
    parser.add_argument("--target", help="build this stage")
    parser.add_argument("--no-cache", action="store_true", help="do not use the build cache")
    parser.add_argument("--pull", action="store_true", help="pull newer base images first")
    parser.add_argument("--label", action="append", default=[], metavar="K=V")
    parser.add_argument("--network", default="default", choices=("default", "host", "none"))
    parser.add_argument("--secret", action="append", default=[], metavar="id=ID,src=PATH")
    parser.add_argument(
        "--progress", default="auto", choices=("auto", "plain", "tty", "quiet", "rawjson")
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the image id")
    parser.add_argument("--iidfile", help="write the image id to this file")
    parser.add_argument("--platform", default="linux/amd64", help="only linux/amd64")
    parser.add_argument("-o", "--output", help="type=oci|docker,dest=FILE")
    # Set by the CLI when cli/quickbuild.py already asked the build record (and missed).
    parser.set_defaults(record_checked=False)


def _usage(message: str, hint: str | None = None) -> Exception:
    from dockyard.errors import UsageError

    return UsageError(message, hint)


def _key_values(items: list[str], what: str, *, env_fallback: bool = False) -> dict[str, str]:
    try:
        return key_values(items, env_fallback=env_fallback)
    except ValueError as error:
        raise _usage(f"invalid {what}: {error.args[0]!r}", f"use {what} KEY=VALUE") from None


def _secrets(items: list[str]) -> dict[str, Path]:
    secrets: dict[str, Path] = {}
    for item in items:
        fields = dict(part.partition("=")[::2] for part in item.split(",") if part)
        secret_id = fields.get("id")
        source = fields.get("src") or fields.get("source")
        if not source and fields.get("env"):
            raise _usage("--secret env= is not supported", "write the value to a file: src=FILE")
        if not secret_id or not source:
            raise _usage(f"invalid --secret {item!r}", "use --secret id=ID,src=PATH")
        path = Path(source).expanduser()
        if not path.is_file():
            raise _usage(f"secret file {source} not found")
        secrets[secret_id] = path.resolve()
    return secrets


def _output(spec: str | None) -> dict[str, str] | None:
    if spec is None:
        return None
    fields = dict(part.partition("=")[::2] for part in spec.split(",") if part)
    kind = fields.get("type", "")
    if kind not in ("oci", "docker") or not fields.get("dest"):
        raise _usage(f"unsupported --output {spec!r}", "use --output type=oci|docker,dest=FILE")
    return fields


def _read_stdin_context(work: Path) -> tuple[bytes | None, Path]:
    """``-`` as context: a tar archive (the context) or a Dockerfile (no context)."""
    import io

    from dockyard.solver.context import extract_context_tar, is_tar_stream

    data = sys.stdin.buffer.read()
    if not is_tar_stream(data[:1024]):
        return data, work
    extract_context_tar(io.BytesIO(data), work)
    return None, work


def _dockerfile(args: argparse.Namespace, context: Path | None) -> tuple[bytes, Path | None, str]:
    if args.file == "-":
        return sys.stdin.buffer.read(), None, "Dockerfile"
    located = dockerfile_location(args.file, str(context) if context is not None else None)
    if located is None:
        raise _usage("no Dockerfile", "pass -f FILE")
    path = Path(located)
    try:
        return path.read_bytes(), path.resolve(), path.name
    except OSError as error:
        raise _usage(
            f"cannot read the Dockerfile {path}: {error.strerror}",
            "pass -f FILE, or put a Dockerfile in the context directory",
        ) from error


def _source_date_epoch(build_args: dict[str, str]) -> int | None:
    try:
        return source_date_epoch(build_args)
    except ValueError as error:
        value = error.args[0]
        raise _usage(f"invalid SOURCE_DATE_EPOCH {value!r}", "use seconds since 1970") from None


def _save(refs: list[str], dest: Path, kind: str) -> None:
    from dockyard.archive import save
    from dockyard.store import Store

    with Store.open() as store, open(dest, "wb") as out:
        save(store, refs, out, kind)


def run(args: argparse.Namespace) -> int:
    from dockyard.api import build

    if args.platform not in ("linux/amd64", "amd64", "linux/x86_64"):
        raise _usage(f"unsupported platform {args.platform}", "dockyard builds linux/amd64")
    build_args = _key_values(args.build_arg, "--build-arg", env_fallback=True)
    labels = _key_values(args.label, "--label")
    epoch = _source_date_epoch(build_args)
    secrets = _secrets(args.secret)
    output = _output(args.output)
    mode = progress_mode(args.progress, args.quiet)
    stdin_dockerfile: bytes | None = None
    temp_context: Any = None
    if args.context == "-":
        import tempfile

        temp_context = tempfile.TemporaryDirectory(prefix="dockyard-context-")
        stdin_dockerfile, context = _read_stdin_context(Path(temp_context.name))
    else:
        context = Path(args.context)
        if not context.is_dir():
            what = "context must be a directory" if context.exists() else "not found"
            raise _usage(
                f"unable to prepare context: path {args.context!r}: {what}",
                "the last argument is the build context directory",
            )
    try:
        if stdin_dockerfile is not None:
            if args.file:
                raise _usage("-f cannot be used when the Dockerfile comes from stdin")
            text, dockerfile_path, name = stdin_dockerfile, None, "Dockerfile"
            context_dir: Path | None = None
        else:
            text, dockerfile_path, name = _dockerfile(args, context)
            context_dir = context.resolve()
        if context_dir is not None and not (args.pull or args.no_cache or args.record_checked):
            image_id = recorded_image(
                dockerfile=text,
                dockerfile_path=str(dockerfile_path) if dockerfile_path else None,
                context_dir=str(context_dir),
                build_args=build_args,
                labels=labels,
                target=args.target,
                network=args.network,
                tags=args.tag,
                source_date_epoch=epoch,
                secrets=secrets.keys(),
                mode=mode,
            )
            if image_id is not None:
                _finish(args, image_id, output)
                return 0
        result = build(
            text,
            context_dir,
            tags=args.tag,
            dockerfile_path=dockerfile_path,
            dockerfile_name=name,
            build_args=build_args,
            target=args.target,
            labels=labels,
            no_cache=args.no_cache,
            pull=args.pull,
            network=args.network,
            secrets=secrets,
            source_date_epoch=epoch,
            progress=mode,
        )
    finally:
        if temp_context is not None:
            temp_context.cleanup()
    _finish(args, result.image_id, output)
    return 0


def _finish(args: argparse.Namespace, image_id: str, output: dict[str, str] | None) -> None:
    if args.iidfile:
        Path(args.iidfile).write_text(image_id)
    if output is not None:
        _save(list(args.tag) or [image_id], Path(output["dest"]), output["type"])
    if args.quiet:
        print(image_id)
