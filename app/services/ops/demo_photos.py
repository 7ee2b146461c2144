"""Product photos for the demo: drawn here (a coloured plate per category with the product's
name on it), so the shop looks like a shop after `make run` without shipping binary files."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont
from werkzeug.datastructures import FileStorage

from app.models import Product
from app.services.catalog import product_images
from app.services.core.fonts import font_path

EDGE = 480
# Background and plate colours per category: light enough for the dark name on top.
COLOURS = {
    "水果": ((255, 236, 214), (255, 170, 92)),
    "蛋奶": ((248, 244, 230), (236, 214, 160)),
    "粮油": ((250, 242, 212), (222, 190, 110)),
    "蔬菜": ((226, 245, 222), (120, 190, 110)),
    "肉禽": ((252, 226, 226), (226, 120, 120)),
    "水产": ((222, 238, 250), (110, 170, 220)),
    "速食": ((240, 236, 250), (170, 150, 220)),
    "烘焙": ((246, 234, 220), (200, 150, 100)),
}
DEFAULT = ((236, 238, 242), (170, 176, 190))


def photo(name: str, category: str | None) -> bytes:
    """A JPEG of a plate in the category's colour with the product's name across it."""
    background, plate = COLOURS.get(category or "", DEFAULT)
    image = Image.new("RGB", (EDGE, EDGE), background)
    draw = ImageDraw.Draw(image)
    draw.ellipse((60, 60, EDGE - 60, EDGE - 60), fill=plate)
    text = name[:4]
    font = ImageFont.truetype(str(font_path()), 96 if len(text) <= 3 else 80)
    box = draw.textbbox((0, 0), text, font=font)
    at = ((EDGE - (box[2] - box[0])) / 2 - box[0], (EDGE - (box[3] - box[1])) / 2 - box[1])
    draw.text(at, text, fill=(40, 40, 40), font=font)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def add_photos(products: list[Product]) -> None:
    """Give each product its drawn photo, through the same checks as an upload."""
    for product in products:
        upload = FileStorage(io.BytesIO(photo(product.name, product.category)), "demo.jpg", content_type="image/jpeg")
        product_images.set_image(product, upload, actor="system:demo")
