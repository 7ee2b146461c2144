"""The share poster: a phone-sized PNG whose QR is the leader's share link, with the window's
title, up to six products and prices in a font that really has the Chinese glyphs."""

import io

import pytest
import zxingcpp
from PIL import Image, ImageChops
from sqlalchemy import select

from app.extensions import db
from app.models import ShareLink, Window
from app.services.windows import share_poster
from tests.windows.integration.test_leader_share import make_link


@pytest.fixture
def window(make_window, make_product):
    products = [make_product(name=f"阳光玫瑰葡萄{n}", price_fen=2990 + n) for n in range(8)]
    return make_window(title="周末水果团", items=[{"product": p, "price_fen": 1990} for p in products])


def test_poster_carries_the_share_links_qr_at_phone_size(app, client, login, make_leader, window):
    app.config["PUBLIC_BASE_URL"] = "https://tuan.example.com"
    leader = make_leader("阳光小区")
    login(leader.user)
    assert client.get(f"/leader/windows/{window.id}/poster.png").status_code == 404  # no link yet
    make_link(client, window)
    response = client.get(f"/leader/windows/{window.id}/poster.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    assert image.size == (share_poster.WIDTH, share_poster.HEIGHT)
    slug = db.session.scalar(select(ShareLink.slug))
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [f"https://tuan.example.com/s/{slug}"]
    download = client.get(f"/leader/windows/{window.id}/poster.png?download=1")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert 'data-testid="poster-download"' in client.get(f"/leader/windows/{window.id}/share").get_data(as_text=True)


def test_poster_lists_at_most_six_products_with_the_usual_price_when_higher(app, window):
    shown = share_poster.products(db.session.get(Window, window.id))
    assert len(shown) == share_poster.MAX_PRODUCTS
    assert shown[0].price == "¥19.90" and shown[0].was == "¥29.90"


def test_usual_price_is_not_shown_when_it_is_not_higher(app, make_window, make_product):
    product = make_product(name="五常大米", price_fen=5990)
    window = make_window(items=[{"product": product, "price_fen": 5990}])
    (shown,) = share_poster.products(db.session.get(Window, window.id))
    assert shown.was is None


def test_the_poster_font_has_real_chinese_glyphs(app):
    def rendered(text: str) -> Image.Image:
        image = Image.new("L", (200, 80), 0)
        share_poster.ImageDraw.Draw(image).text((4, 4), text, font=share_poster._font(56), fill=255)
        return image

    # A font without the glyphs draws the same "missing" box for every character.
    missing = rendered("\U000f0000")
    assert ImageChops.difference(rendered("团"), missing).getbbox() is not None
    assert ImageChops.difference(rendered("团"), rendered("购")).getbbox() is not None


def test_another_leaders_private_window_has_no_poster(client, login, make_leader, make_window):
    chosen, outsider = make_leader(), make_leader()
    private = make_window(leaders=[chosen])
    login(outsider.user)
    assert client.get(f"/leader/windows/{private.id}/poster.png").status_code == 404
