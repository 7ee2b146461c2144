"""Uploaded photos: checked by content (not by name or the browser's type), re-encoded, kept small.

A photo is read whole up to its size limit, opened with Pillow (which refuses decompression
bombs), and only JPEG, PNG and WebP are taken. It is saved re-encoded as JPEG at most
PHOTO_MAX_EDGE pixels on its long side: the re-encode drops EXIF, so a phone's GPS position
never reaches the merchant, and whatever else the file carried is not kept.
"""

from __future__ import annotations

import io
import secrets
import warnings
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from app.services.core import files
from app.services.core.errors import NotFound, ValidationFailed

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}
PHOTO_MAX_EDGE = 1600
Image.MAX_IMAGE_PIXELS = 40_000_000  # ~ a 48 MP phone photo's worth; more is a bomb, refused


def upload_dir(kind: str) -> Path:
    return Path(current_app.config.get("UPLOAD_DIR") or Path(current_app.instance_path) / "uploads") / kind


def max_bytes() -> int:
    return int(current_app.config["PHOTO_MAX_BYTES"])


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(fields={field: message})


def read_image(storage, field: str = "photo") -> Image.Image:
    """The uploaded file as an image, or ValidationFailed naming what is wrong with it."""
    limit = max_bytes()
    data = storage.stream.read(limit + 1) if storage is not None else b""
    if not data:
        raise _refuse(field, _("Choose a photo."))
    if len(data) > limit:
        raise _refuse(field, _("The photo is larger than %(mb)d MB.", mb=limit // (1024 * 1024)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            if probe.format not in ACCEPTED_FORMATS:
                raise _refuse(field, _("Upload a JPEG, PNG or WebP photo."))
            probe.verify()  # a truncated or corrupt file fails here
            image = Image.open(io.BytesIO(data))
            image.load()
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse(field, _("Upload a JPEG, PNG or WebP photo.")) from None
    except (OSError, SyntaxError, ValueError):
        raise _refuse(field, _("The photo could not be read; take it again.")) from None
    return image


THUMB_EDGE = 320


def _write_jpeg(image: Image.Image, path: Path) -> None:
    with files.replacing(path) as tmp:
        image.save(tmp, "JPEG", quality=85, optimize=True)


def save_photo(storage, kind: str, field: str = "photo", *, thumbnail: bool = False) -> str:
    """Check and store an uploaded photo under UPLOAD_DIR/<kind>/; returns its file name. With
    `thumbnail`, a THUMB_EDGE-pixel "<name>-thumb.jpg" is written beside it."""
    image = ImageOps.exif_transpose(read_image(storage, field))
    image = image.convert("RGB")
    image.thumbnail((PHOTO_MAX_EDGE, PHOTO_MAX_EDGE))
    folder = upload_dir(kind)
    folder.mkdir(parents=True, exist_ok=True)
    stem = secrets.token_hex(16)
    _write_jpeg(image, folder / f"{stem}.jpg")
    if thumbnail:
        small = image.copy()
        small.thumbnail((THUMB_EDGE, THUMB_EDGE))
        _write_jpeg(small, folder / f"{stem}-thumb.jpg")
    return f"{stem}.jpg"


def thumb_name(name: str) -> str:
    return name.removesuffix(".jpg") + "-thumb.jpg"


def discard(kind: str, name: str | None) -> None:
    """Remove a stored photo (and its thumbnail) no row points at any more."""
    if name:
        (upload_dir(kind) / name).unlink(missing_ok=True)
        (upload_dir(kind) / thumb_name(name)).unlink(missing_ok=True)


def photo_file(kind: str, name: str) -> Path:
    """The stored file; names are ours (hex + .jpg), never taken from a request."""
    return upload_dir(kind) / name


def photo_response(kind: str, name: str, *, public: bool = False):
    """The stored photo for a browser with an ETag: private caching for evidence that belongs to
    one order; `public`, cached for a year (a new photo has a new name)."""
    from flask import request

    path = photo_file(kind, name)
    if not path.is_file():
        raise NotFound()
    response = current_app.response_class(path.read_bytes(), mimetype="image/jpeg")
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable" if public else "private, max-age=86400"
    response.add_etag()
    return response.make_conditional(request)
