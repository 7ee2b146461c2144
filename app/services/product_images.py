"""A product's photo: uploaded by the merchant, shown to customers as a thumbnail on the shop
page and larger on tap. Files are named by a random token, so they are cached for a year."""

from __future__ import annotations

import re

from sqlalchemy import update

from app.extensions import db
from app.models import Product
from app.services import audit, photos
from app.services.errors import NotFound

KIND = "products"
NAME_RE = re.compile(r"^[0-9a-f]{32}(-thumb)?\.jpg$")


def set_image(product: Product, storage, *, actor: str) -> Product:
    """Store the upload (checked and re-encoded by photos.py) as the product's photo; the old
    files go once the row points at the new ones."""
    name = photos.save_photo(storage, KIND, "image", thumbnail=True)
    old = product.image_name
    try:
        db.session.execute(
            update(Product)
            .where(Product.id == product.id)
            .values(image_name=name)
            .execution_options(synchronize_session=False)
        )
        audit.record(actor, "product.image_set", "product", product.id)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        photos.discard(KIND, name)
        raise
    photos.discard(KIND, old)
    db.session.refresh(product)
    return product


def remove_image(product: Product, *, actor: str) -> Product:
    old = product.image_name
    db.session.execute(
        update(Product)
        .where(Product.id == product.id)
        .values(image_name=None)
        .execution_options(synchronize_session=False)
    )
    audit.record(actor, "product.image_removed", "product", product.id)
    db.session.commit()
    photos.discard(KIND, old)
    db.session.refresh(product)
    return product


def image_response(name: str):
    """A product photo or thumbnail by its file name (public: the shop shows them)."""
    if not NAME_RE.match(name or ""):
        raise NotFound()
    return photos.photo_response(KIND, name, public=True)
