"""A container holds a lease on its image (``container/<id>``) so that ``rmi`` and
garbage collection leave the image alone while the container exists."""

from __future__ import annotations

import contextlib

from dockyard.digest import Digest
from dockyard.errors import StoreError


def lease_image(container_id: str, image_id: str) -> None:
    from dockyard.store import Store

    with Store.open() as store:
        store.set_lease(f"container/{container_id}", images=[Digest(image_id)])


def release_image(container_id: str) -> None:
    from dockyard.store import Store

    with contextlib.suppress(StoreError), Store.open() as store:
        store.delete_lease(f"container/{container_id}")
