"""A client for the OCI distribution API: pull into and push from the store."""

from dockyard.registry.auth import Credentials, load_credentials, save_credentials
from dockyard.registry.client import pull, push
from dockyard.registry.transport import Transport

__all__ = ["Credentials", "Transport", "load_credentials", "pull", "push", "save_credentials"]
