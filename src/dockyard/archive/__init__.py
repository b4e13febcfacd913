"""docker-archive and oci-archive: load, save, import."""

from dockyard.archive.importer import import_image
from dockyard.archive.load import LoadedImage, load
from dockyard.archive.save import SaveItem, save

__all__ = ["LoadedImage", "SaveItem", "import_image", "load", "save"]
