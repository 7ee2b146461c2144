"""The share poster: one phone-sized image a leader saves and posts in the group chat.

Window title, merchant, three to six products with their group prices (the usual price struck
through when higher), the cut-off time, and the leader's share QR with "long-press to join".
Drawn with Pillow in the labels' CJK font, so Chinese renders wherever labels do.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

import qrcode
from flask_babel import gettext as _
from PIL import Image, ImageDraw, ImageFont

from app.models import Leader, ShareLink, Window
from app.services.core import clock, fonts
from app.services.core.text import format_yuan
from app.services.windows import sharing

WIDTH, HEIGHT = 750, 1334  # a phone screen at 2×: shown whole in a chat, sharp when opened
MAX_PRODUCTS = 6
ACCENT = (228, 87, 46)
INK = (31, 41, 55)
MUTED = (107, 114, 128)


@dataclass(frozen=True)
class PosterProduct:
    name: str
    spec: str
    price: str
    was: str | None


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(fonts.font_path()), size=size, index=0)


def products(window: Window) -> list[PosterProduct]:
    """Up to six of the window's items, in the merchant's order."""
    shown = []
    for item in window.items[:MAX_PRODUCTS]:
        usual = item.product.price_fen
        shown.append(
            PosterProduct(
                name=item.product.name,
                spec=item.product.spec or "",
                price=format_yuan(item.group_price_fen),
                was=format_yuan(usual) if usual > item.group_price_fen else None,
            )
        )
    return shown


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int, width: int) -> str:
    """The text, shortened with an ellipsis until it fits `width` pixels."""
    font = _font(size)
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def _qr(url: str, size: int) -> Image.Image:
    image = qrcode.make(url, box_size=10, border=2).get_image().convert("RGB")
    return image.resize((size, size), Image.NEAREST)


def poster_png(window: Window, leader: Leader, link: ShareLink) -> bytes:
    """The poster as PNG bytes."""
    image = Image.new("RGB", (WIDTH, HEIGHT), (255, 248, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 220), fill=ACCENT)
    draw.text((48, 44), _fit(draw, leader.community_name, 30, WIDTH - 96), font=_font(30), fill=(255, 236, 226))
    draw.text((48, 96), _fit(draw, window.title, 56, WIDTH - 96), font=_font(56), fill=(255, 255, 255))
    draw.text((48, 172), _fit(draw, window.merchant.name, 26, WIDTH - 96), font=_font(26), fill=(255, 236, 226))

    y = 252
    for product in products(window):
        draw.rounded_rectangle((36, y, WIDTH - 36, y + 96), radius=18, fill=(255, 255, 255))
        draw.text((60, y + 14), _fit(draw, product.name, 34, 430), font=_font(34), fill=INK)
        draw.text((60, y + 56), _fit(draw, product.spec, 24, 430), font=_font(24), fill=MUTED)
        price_width = draw.textlength(product.price, font=_font(40))
        draw.text((WIDTH - 60 - price_width, y + 12), product.price, font=_font(40), fill=ACCENT)
        if product.was:
            was_width = draw.textlength(product.was, font=_font(22))
            x = WIDTH - 60 - was_width
            draw.text((x, y + 58), product.was, font=_font(22), fill=MUTED)
            draw.line((x, y + 72, x + was_width, y + 72), fill=MUTED, width=2)
        y += 108  # six rows end above the cut-off line

    closes = clock.to_local(window.closes_at).strftime("%m-%d %H:%M")
    cutoff = _("Order by %(when)s", when=closes)
    draw.text((48, HEIGHT - 420), _fit(draw, cutoff, 34, WIDTH - 96), font=_font(34), fill=INK)
    qr_size = 300
    image.paste(_qr(sharing.share_url(link), qr_size), ((WIDTH - qr_size) // 2, HEIGHT - 360))
    hint = _("Long-press the QR code to join")
    hint_width = draw.textlength(hint, font=_font(28))
    draw.text(((WIDTH - hint_width) / 2, HEIGHT - 50), hint, font=_font(28), fill=MUTED)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
