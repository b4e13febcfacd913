"""The one exception tree of dockyard.

Every error a user can cause or meet is a ``DockyardError``: it carries a message
(what went wrong, where) and a hint (how to fix it). The CLI prints them as
``error: <message>`` plus ``hint: <hint>`` and exits 1; it never prints a traceback
for them. Third-party exceptions (OSError, sqlite3, http, tar) are translated into
these at the boundary where they happen.

    DockyardError
    ├── UsageError               bad command-line usage (exit code 2)
    ├── DockerfileError          a Dockerfile that cannot be parsed or planned;
    │   │                        carries a SourceLocation (location.py)
    │   └── WordExpansionError   a word whose $VAR / ${VAR...} expansion fails
    ├── IgnoreFileError          a .dockerignore pattern that is invalid
    ├── BuildError               a build step failed (RUN exit code, COPY source missing)
    ├── StoreError               the content store or an image reference is broken
    │   ├── ImageNotFoundError   a name or id that is not in the store
    │   └── CorruptBlobError     a blob whose content does not match its digest
    ├── UnpackError              a layer tar that is malformed or tries to escape its root
    ├── LayerError               a layer could not be written from a directory tree
    ├── MountError               an overlay mount or unmount failed
    ├── UnknownUserError         a USER / -u name missing from the image's passwd or group
    ├── ArchiveError             a docker-archive / oci-archive that cannot be read
    ├── RegistryError            the distribution API failed (network, auth, 4xx/5xx)
    └── RuntimeError_            running a container failed (runc, mounts, ports)
        ├── ContainerNotFoundError
        └── ContainerStartError  the process could not be started (exit code 126/127)
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~6 ms to import; every command imports this module
if TYPE_CHECKING:
    from dockyard.location import SourceLocation


class DockyardError(Exception):
    """Base of every error dockyard reports to a user."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(DockyardError):
    """The command line itself is wrong."""

    exit_code = 2


class DockerfileError(DockyardError):
    """A Dockerfile that cannot be parsed, expanded or planned.

    The message reads ``Dockerfile:LINE: <what>`` when the location is known.
    """

    def __init__(
        self, what: str, location: SourceLocation | None = None, hint: str | None = None
    ) -> None:
        message = f"{location}: {what}" if location is not None else what
        if hint:
            message = f"{message} ({hint})"
        super().__init__(message, hint)
        self.what = what
        self.location = location


class WordExpansionError(DockerfileError):
    """Expanding a word failed: ``${V:?msg}``, a bad substitution, an unterminated quote.

    ``reason`` says what failed and ``word`` is the word as written. The shell lexer
    knows no location; the caller adds one with :meth:`with_location`.
    """

    def __init__(
        self,
        reason: str,
        word: str,
        location: SourceLocation | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(f"failed to expand {word!r}: {reason}", location, hint)
        self.reason = reason
        self.word = word

    def with_location(self, location: SourceLocation) -> WordExpansionError:
        """The same error, located in a Dockerfile."""
        return WordExpansionError(self.reason, self.word, location, self.hint)


class IgnoreFileError(DockyardError):
    """An invalid pattern in a .dockerignore file."""


class BuildError(DockyardError):
    """A build step failed."""


class StoreError(DockyardError):
    """The content store, a reference or the OCI layout is broken or inconsistent."""


class ImageNotFoundError(StoreError):
    """A name or id that is not in the store."""


class CorruptBlobError(StoreError):
    """A blob whose bytes do not hash to its digest."""


class UnpackError(DockyardError):
    """A layer that is malformed or would write outside its root."""


class LayerError(DockyardError):
    """A directory tree could not be written as a layer (a file changed while read)."""


class MountError(DockyardError):
    """An overlayfs mount or unmount failed."""


class ArchiveError(DockyardError):
    """A docker-archive or oci-archive that cannot be read or written."""


class RegistryError(DockyardError):
    """The OCI distribution API failed."""


class RuntimeError_(DockyardError):
    """Running a container failed."""


class UnknownUserError(DockyardError):
    """A user or group name that the image's /etc/passwd or /etc/group does not have."""


class ContainerNotFoundError(RuntimeError_):
    """A container name or id that does not exist."""


class ContainerStartError(RuntimeError_):
    """The container's process could not be started: not found (127), not executable (126)."""

    def __init__(self, message: str, hint: str | None = None, exit_code: int = 126) -> None:
        super().__init__(message, hint)
        self.exit_code = exit_code
