"""The build graph: digests from canonical forms, de-duplication, topological order."""

from __future__ import annotations

from dockyard.plan.cachekey import cache_key, content_key
from dockyard.plan.graph import (
    ContextSource,
    CopyAction,
    ExecOp,
    FileOp,
    ImageSource,
    MkdirAction,
    ScratchSource,
    Vertex,
    topological,
)

BASE = Vertex(ImageSource("docker.io/library/busybox:latest", "sha256:" + "a" * 64, ("d1",)))


def run(parent: Vertex, command: str, **changes: object) -> Vertex:
    fields: dict[str, object] = {
        "args": ("/bin/sh", "-c", command),
        "env": ("PATH=/bin",),
        "cwd": "/",
        "user": "",
    }
    fields.update(changes)
    return Vertex(ExecOp(**fields), (parent,), name=f"RUN {command}")  # type: ignore[arg-type]


def test_same_operation_same_digest_whatever_the_name() -> None:
    first = Vertex(ExecOp(("true",), (), "/", ""), (BASE,), name="[1/2] RUN true")
    second = Vertex(ExecOp(("true",), (), "/", ""), (BASE,), name="[stage-1 5/9] RUN true")
    assert first.digest == second.digest
    assert first == second
    assert len({first, second}) == 1


def test_every_field_that_matters_changes_the_digest() -> None:
    reference = run(BASE, "echo hi")
    assert run(BASE, "echo ho").digest != reference.digest
    assert run(BASE, "echo hi", env=("PATH=/bin", "A=1")).digest != reference.digest
    assert run(BASE, "echo hi", cwd="/app").digest != reference.digest
    assert run(BASE, "echo hi", user="app").digest != reference.digest
    assert run(BASE, "echo hi", network="none").digest != reference.digest
    other_base = Vertex(ImageSource("x", "sha256:" + "b" * 64, ()))
    assert run(other_base, "echo hi").digest != reference.digest


def test_proxy_environment_is_not_part_of_the_digest() -> None:
    plain = run(BASE, "apt-get update")
    proxied = run(BASE, "apt-get update", proxy_env=("HTTP_PROXY=http://proxy:3128",))
    assert plain.digest == proxied.digest


def test_parent_change_propagates_to_every_descendant() -> None:
    chain = [BASE]
    for index in range(3):
        chain.append(run(chain[-1], f"step {index}"))
    other = [Vertex(ScratchSource())]
    for index in range(3):
        other.append(run(other[-1], f"step {index}"))
    assert all(a.digest != b.digest for a, b in zip(chain, other, strict=True))


def test_topological_order_inputs_first_and_shared_vertices_once() -> None:
    context = Vertex(ContextSource())
    builder = run(BASE, "make")
    final = Vertex(FileOp(CopyAction(("/out",), "/bin/")), (Vertex(ScratchSource()), builder))
    other = Vertex(FileOp(CopyAction(("a",), "/a")), (final, context))
    order = topological([other, final])
    digests = [vertex.digest for vertex in order]
    assert len(digests) == len(set(digests))
    position = {digest: index for index, digest in enumerate(digests)}
    for vertex in order:
        for item in vertex.inputs:
            assert position[item.digest] < position[vertex.digest]
    assert digests[-1] == other.digest


def test_cache_key_uses_input_keys_not_input_digests() -> None:
    context = Vertex(ContextSource())
    copy = Vertex(FileOp(CopyAction(("a.txt",), "/a.txt")), (BASE, context))
    key_one = cache_key(copy, [BASE.digest, content_key("copy", "sha256:1")])
    key_two = cache_key(copy, [BASE.digest, content_key("copy", "sha256:2")])
    same = cache_key(copy, [BASE.digest, content_key("copy", "sha256:1")])
    assert key_one != key_two
    assert key_one == same
    # With the inputs' digests as keys, the key is the vertex digest.
    assert cache_key(copy, [BASE.digest, context.digest]) == copy.digest


def test_mkdir_digest_depends_on_owner() -> None:
    one = Vertex(FileOp(MkdirAction("/app", user="")), (BASE,))
    two = Vertex(FileOp(MkdirAction("/app", user="app")), (BASE,))
    assert one.digest != two.digest


def test_ops_come_back_from_their_canonical_form() -> None:
    from dockyard.plan.graph import Mount, op_from_canonical

    ops = [
        ExecOp(
            ("/bin/sh", "-c", "make"),
            ("PATH=/bin",),
            "/src",
            "app",
            network="none",
            mounts=(Mount("cache", "/root/.cache", cache_id="c", mode=0o700),),
        ),
        FileOp(CopyAction(("a", "b/"), "/dest/", chown="1:2", contents=(("f", "data\n"),))),
        FileOp(MkdirAction("/app", user="nobody")),
        BASE.op,
        ScratchSource(),
        ContextSource(),
    ]
    for op in ops:
        assert op_from_canonical(op.canonical()) == op
    # The cache key of the canonical form is the vertex's cache key.
    from dockyard.plan.cachekey import op_cache_key

    vertex = run(BASE, "true")
    assert op_cache_key(vertex.op.canonical(), ["k"]) == cache_key(vertex, ["k"])
