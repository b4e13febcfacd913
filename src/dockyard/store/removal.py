"""``rmi``: Docker's rules for untagging and deleting images."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.errors import StoreError
from dockyard.oci import ImageReference

if TYPE_CHECKING:
    from dockyard.store.store import Store


def _reference(text: str) -> ImageReference | None:
    try:
        return ImageReference.parse_tagged(text)
    except StoreError:
        return None


def remove_image(store: Store, ref_or_id: str, force: bool) -> list[str]:
    """Untag or delete like ``docker rmi``; returns Docker's ``Untagged:``/``Deleted:`` lines."""
    digest = store.resolve(ref_or_id)
    image = store.image(str(digest))
    manifests = store.manifests_of_id(image.id)
    names = [e.name for e in store.entries() if e.digest in manifests and e.name is not None]
    users = store.image_users(image.id)
    reference = _reference(ref_or_id)
    lines: list[str] = []
    if reference is not None and reference in names:
        if users and len(names) == 1 and not force:
            raise StoreError(
                f"conflict: unable to remove repository reference {ref_or_id!r} (must force) "
                f"- {users[0]} is using its referenced image {image.id.short}",
                "remove the container first, or use --force to untag only",
            )
        store.untag(reference)
        lines.append(f"Untagged: {reference.familiar()}")
        if len(names) > 1 or users:
            return lines
    else:
        if users and not force:
            raise StoreError(
                f"conflict: unable to delete {image.id.short} (must be forced) - image is "
                f"being used by {users[0]}",
                "remove the container first, or use --force",
            )
        repositories = {name.name for name in names}
        if len(repositories) > 1 and not force:
            raise StoreError(
                f"conflict: unable to delete {image.id.short} (must be forced) - image is "
                "referenced in multiple repositories",
                "remove the names one by one, or --force",
            )
        for name in sorted(names, key=str):
            store.untag(name)
            lines.append(f"Untagged: {name.familiar()}")
        if users:
            return lines
    store.delete_manifests(manifests)
    lines.append(f"Deleted: {image.id}")
    store.gc(blocking=False)
    return lines
