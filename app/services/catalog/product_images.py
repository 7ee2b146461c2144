"""A product's photo: uploaded by the merchant, shown to customers as a thumbnail on the shop
page and larger on tap. Files are named by a random token, so they are cached for a year."""

from __future__ import annotations

import re

from sqlalchemy import update

from app.extensions import db
from app.models import Product
from app.services.core import audit, photos
from app.services.core.errors import NotFound

KIND = "products"
NAME_RE = re.compile(r"^[0-9a-f]{32}(-thumb)?\.jpg$")


def _point_at(product: Product, name: str | None, action: str, actor: str) -> Product:
    """Make the product's photo `name` (None: no photo); the old files go once the row no
    longer points at them, the new ones if the row could not be written."""
    old = product.image_name
    try:
        db.session.execute(
            update(Product)
            .where(Product.id == product.id)
            .values(image_name=name)
            .execution_options(synchronize_session=False)
        )
        audit.record(actor, action, "product", product.id)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        photos.discard(KIND, name)
        raise
    photos.discard(KIND, old)
    db.session.refresh(product)
    return product


def set_image(product: Product, storage, *, actor: str) -> Product:
    """Store the upload (checked and re-encoded by photos.py) as the product's photo."""
    return _point_at(product, photos.save_photo(storage, KIND, "image", thumbnail=True), "product.image_set", actor)


def remove_image(product: Product, *, actor: str) -> Product:
    return _point_at(product, None, "product.image_removed", actor)


def image_response(name: str):
    """A product photo or thumbnail by its file name (public: the shop shows them)."""
    if not NAME_RE.match(name or ""):
        raise NotFound()
    return photos.photo_response(KIND, name, public=True)
