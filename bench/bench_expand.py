"""Word-expansion throughput of dockyard.dockerfile.shell (not a test).

    PYTHONPATH=src python bench/bench_expand.py

Prints microseconds per word for several kinds of Dockerfile words, and the time to
expand the words of a generated 5,000-instruction Dockerfile (about 3 words each, a mix
like real files: most words have no '$' at all).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from dockyard.dockerfile.shell import ShellLexer

ENV = {
    "VERSION": "1.2.3",
    "APP_HOME": "/opt/app",
    "TARGETARCH": "amd64",
    "TARGETVARIANT": "",
    "FILE": "release-1.2.3.tar.gz",
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
}

KINDS = {
    "plain": "/usr/local/bin/app",
    "plain-long": "--chown=1000:1000 " + "x" * 200,
    "one-var": "$APP_HOME/bin",
    "braces": "${APP_HOME}/lib/${VERSION}",
    "default": "${MISSING:-/srv}/data",
    "nested": "app-${VERSION}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tgz",
    "quoted": '"hello  world" \'$not\' "$VERSION"',
    "pattern": "${FILE%.tar.gz} ${FILE##*-} ${PATH//:/ }",
}


def _per_call(function: Callable[[], object], repeat: int = 5) -> float:
    """Best time of one call in seconds, over ``repeat`` batches."""
    number = 2000
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            function()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def _dockerfile_words(instructions: int) -> list[str]:
    templates = [
        ["/etc/app/config.yaml", "/etc/app/"],
        ["APP_VERSION=${VERSION}"],
        ["$APP_HOME"],
        ["8080/tcp"],
        ["app:app"],
        ["./src", "$APP_HOME/src"],
        ["--from=build", "/out/app-${TARGETARCH}", "/usr/local/bin/app"],
        ["org.opencontainers.image.version=$VERSION"],
        ["${APP_HOME:-/opt/app}/data"],
        ["requirements.txt", "."],
    ]
    words: list[str] = []
    for index in range(instructions):
        words.extend(templates[index % len(templates)])
    return words


def main() -> None:
    lexer = ShellLexer()
    print(f"{'kind':<12} {'expand_word':>12} {'expand_words':>13} {'expand':>9}   (µs/word)")
    for kind, word in KINDS.items():
        one = _per_call(lambda word=word: lexer.expand_word(word, ENV))
        split = _per_call(lambda word=word: lexer.expand_words(word, ENV))
        full = _per_call(lambda word=word: lexer.expand(word, ENV))
        print(f"{kind:<12} {one * 1e6:12.2f} {split * 1e6:13.2f} {full * 1e6:9.2f}")

    words = _dockerfile_words(5000)
    best = float("inf")
    for _ in range(7):
        start = time.perf_counter()
        for word in words:
            lexer.expand_word(word, ENV)
        best = min(best, time.perf_counter() - start)
    print(
        f"5,000 instructions ({len(words)} words): {best * 1e3:.2f} ms "
        f"({len(words) / best / 1e6:.2f} M words/s)"
    )


if __name__ == "__main__":
    main()
