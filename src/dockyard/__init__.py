"""dockyard: build OCI images from Dockerfiles and run them, without a daemon."""

from dockyard.errors import DockyardError

__version__ = "0.1.0"

__all__ = ["DockyardError", "__version__"]
