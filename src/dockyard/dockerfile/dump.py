"""BuildKit's AST dump (``dockerfile parse --dump``; the ``result`` files of its tests)."""

from __future__ import annotations

from dockyard.dockerfile.gotext import go_quote, go_trim_space
from dockyard.dockerfile.nodes import Node, ParsedDockerfile
from dockyard.dockerfile.parser import trim_continuation


def dump_node(node: Node) -> str:
    parts = [node.keyword]
    if node.flags:
        parts.append("[" + " ".join(go_quote(flag) for flag in node.flags) + "]")
    if node.child is not None:
        parts.append(f"({dump_node(node.child)})")
    parts.extend(go_quote(arg) for arg in node.args)
    return " ".join(parts)


def dump(parsed: ParsedDockerfile) -> str:
    """One ``(instruction ...)`` line per node, newline-terminated."""
    return "".join(f"({dump_node(node)})\n" for node in parsed.nodes)


def render(parsed: ParsedDockerfile) -> str:
    """Dockerfile text that parses to the same nodes: one physical line per instruction.

    Directives come first; continuations are already joined in ``Node.original``;
    heredoc bodies follow their line, each closed by its delimiter.
    """
    out = [f"# {d.name}={d.value}\n" for d in parsed.directives]
    if not out and parsed.nodes and parsed.nodes[0].original.startswith("\ufeff"):
        out.append("\n")  # a first-line BOM would be removed
    for node in parsed.nodes:
        text = node.original
        if not go_trim_space(text) or not trim_continuation(text, parsed.escape)[1]:
            # Only a continuation that runs into the end of the file gives such a line
            # (empty, or ending in an escape token): write it the same way.
            out.append(text + parsed.escape)
            continue
        out.append(node.original + "\n")
        for heredoc in node.heredocs:
            out.append(heredoc.content + heredoc.name + "\n")
    return "".join(out)
