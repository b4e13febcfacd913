"""Image references: distribution/reference's grammar and Docker's normalisation."""

from __future__ import annotations

import pytest

from dockyard.errors import StoreError
from dockyard.oci import ImageReference

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "full", "familiar"),
    [
        ("node", "docker.io/library/node:latest", "node:latest"),
        ("node:18-alpine", "docker.io/library/node:18-alpine", "node:18-alpine"),
        ("docker.io/node", "docker.io/library/node:latest", "node:latest"),
        ("index.docker.io/user/app:1", "docker.io/user/app:1", "user/app:1"),
        ("docker.io/library/foo/bar", "docker.io/library/foo/bar:latest", "library/foo/bar:latest"),
        ("user/app", "docker.io/user/app:latest", "user/app:latest"),
        ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
        ("localhost:5000/app:v2", "localhost:5000/app:v2", "localhost:5000/app:v2"),
        ("example.com/a/b/c", "example.com/a/b/c:latest", "example.com/a/b/c:latest"),
        ("127.0.0.1:5000/x", "127.0.0.1:5000/x:latest", "127.0.0.1:5000/x:latest"),
        ("[::1]:5000/x:t", "[::1]:5000/x:t", "[::1]:5000/x:t"),
        ("Registry.Example/x", "Registry.Example/x:latest", "Registry.Example/x:latest"),
        (f"alpine@{DIGEST}", f"docker.io/library/alpine@{DIGEST}", f"alpine@{DIGEST}"),
        (f"alpine:3@{DIGEST}", f"docker.io/library/alpine:3@{DIGEST}", f"alpine:3@{DIGEST}"),
        ("a__b/c-d---e.f_g", "docker.io/a__b/c-d---e.f_g:latest", "a__b/c-d---e.f_g:latest"),
    ],
)
def test_normalises_like_docker(text: str, full: str, familiar: str) -> None:
    reference = ImageReference.parse_tagged(text)
    assert str(reference) == full
    assert reference.familiar() == familiar
    assert ImageReference.parse_tagged(full) == reference


def test_parse_keeps_missing_tag() -> None:
    reference = ImageReference.parse("busybox")
    assert reference.tag is None
    assert reference.name == "docker.io/library/busybox"
    assert reference.familiar_name == "busybox"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "invalid reference format"),
        ("foo/Bar", "repository name must be lowercase"),
        ("UPPER", "repository name must be lowercase"),
        ("-foo", "invalid reference format"),
        ("foo:", "invalid reference format"),
        ("a:b:c", "invalid reference format"),
        ("foo@sha256:abc", "invalid reference format"),
        ("foo:" + "t" * 129, "invalid reference format"),
        ("foo//bar", "invalid reference format"),
        ("foo_/bar", "invalid reference format"),
        ("a" * 64, "cannot specify 64-byte hexadecimal strings"),
        ("x/" + "a" * 260, "must not be more than 255 characters"),
        ("foo@sha512:" + "a" * 128, "only sha256"),
    ],
)
def test_rejects_invalid(text: str, message: str) -> None:
    with pytest.raises(StoreError) as caught:
        ImageReference.parse(text)
    assert message in caught.value.message + (caught.value.hint or "")


def test_tag_of_128_characters_is_the_maximum() -> None:
    assert ImageReference.parse("foo:" + "t" * 128).tag == "t" * 128
    assert ImageReference.is_valid_tag("v1.0_rc-2")
    assert not ImageReference.is_valid_tag(".hidden")
