"""Image references, parsed and normalised exactly like Docker.

A port of distribution/reference (``regexp.go``, ``normalize.go``): ``node`` is
``docker.io/library/node``, ``index.docker.io`` is ``docker.io``, a first component
with a ``.`` or ``:`` (or ``localhost``, or any upper-case letter) is a registry
domain. ``familiar`` gives back the short form Docker prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dockyard.digest import Digest
from dockyard.errors import StoreError

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_DOMAIN_NAME_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6_ADDRESS = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_NAME = rf"{_DOMAIN_NAME_COMPONENT}(?:\.{_DOMAIN_NAME_COMPONENT})*"
_HOST = rf"(?:{_DOMAIN_NAME}|{_IPV6_ADDRESS})"
_DOMAIN_AND_PORT = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
_REMOTE_NAME = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_NAME = rf"(?:{_DOMAIN_AND_PORT}/)?{_REMOTE_NAME}"

REFERENCE_RE = re.compile(rf"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?$", re.ASCII)
_ANCHORED_NAME_RE = re.compile(rf"^(?:({_DOMAIN_AND_PORT})/)?({_REMOTE_NAME})$", re.ASCII)
TAG_RE = re.compile(rf"^{_TAG}$", re.ASCII)
IDENTIFIER_RE = re.compile(r"^[a-f0-9]{64}$")

_FORMAT_HINT = "references look like NAME[:TAG] or NAME@sha256:DIGEST, e.g. alpine:3.19"


def _invalid(reason: str) -> StoreError:
    message = "invalid reference format"
    return StoreError(f"{message}: {reason}" if reason else message, _FORMAT_HINT)


def _split_docker_domain(name: str) -> tuple[str, str]:
    slash = name.find("/")
    first = name[:slash]
    if slash == -1 or (
        not any(c in first for c in ".:") and first != "localhost" and first.lower() == first
    ):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, name[slash + 1 :]
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


@dataclass(frozen=True, order=True)
class ImageReference:
    """A normalised reference: ``domain/path[:tag][@digest]``."""

    domain: str
    path: str
    tag: str | None = None
    digest: Digest | None = None

    @classmethod
    def parse(cls, text: str) -> ImageReference:
        """Parse like Docker's ``ParseNormalizedNamed`` (no default tag added)."""
        if IDENTIFIER_RE.match(text):
            raise StoreError(
                f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings"
            )
        domain, remainder = _split_docker_domain(text)
        name_part = remainder.split("@", 1)[0]
        # The tag is after the last ':' that follows the last '/'.
        colon = name_part.rfind(":")
        if colon > name_part.rfind("/"):
            name_part = name_part[:colon]
        if name_part.lower() != name_part:
            raise _invalid("repository name must be lowercase")
        return cls._parse_full(f"{domain}/{remainder}")

    @classmethod
    def _parse_full(cls, text: str) -> ImageReference:
        match = REFERENCE_RE.match(text)
        if match is None:
            if not text:
                raise _invalid("repository name must have at least one component")
            if REFERENCE_RE.match(text.lower()):
                raise _invalid("repository name must be lowercase")
            raise _invalid("")
        name, tag, digest = match.group(1), match.group(2), match.group(3)
        if len(name) > NAME_TOTAL_LENGTH_MAX:
            raise _invalid(
                f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
            )
        name_match = _ANCHORED_NAME_RE.match(name)
        assert name_match is not None  # REFERENCE_RE already matched the same grammar
        domain, path = name_match.group(1) or "", name_match.group(2)
        if digest is not None and not Digest.is_valid(digest):
            raise StoreError(
                f"unsupported digest in reference: {digest}", "only sha256 digests are supported"
            )
        return cls(domain, path, tag, Digest(digest) if digest else None)

    @classmethod
    def parse_tagged(cls, text: str) -> ImageReference:
        """Parse and add the ``latest`` tag when there is neither tag nor digest."""
        return cls.parse(text).with_default_tag()

    @classmethod
    def is_valid_tag(cls, tag: str) -> bool:
        return bool(TAG_RE.match(tag))

    def with_default_tag(self) -> ImageReference:
        if self.tag is None and self.digest is None:
            return ImageReference(self.domain, self.path, DEFAULT_TAG, None)
        return self

    def with_tag(self, tag: str) -> ImageReference:
        return ImageReference(self.domain, self.path, tag, None)

    def with_digest(self, digest: Digest) -> ImageReference:
        return ImageReference(self.domain, self.path, None, digest)

    @property
    def name(self) -> str:
        """The repository: ``docker.io/library/node``."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    @property
    def familiar_name(self) -> str:
        """The repository as Docker prints it: ``node``, ``localhost:5000/x``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        path = self.path
        if path.startswith(OFFICIAL_REPO_PREFIX):
            rest = path[len(OFFICIAL_REPO_PREFIX) :]
            if "/" not in rest:
                return rest
        return path

    def _suffix(self) -> str:
        text = f":{self.tag}" if self.tag is not None else ""
        return f"{text}@{self.digest}" if self.digest is not None else text

    def familiar(self) -> str:
        """``node:latest``, ``localhost:5000/x@sha256:…``."""
        return self.familiar_name + self._suffix()

    def __str__(self) -> str:
        return self.name + self._suffix()
