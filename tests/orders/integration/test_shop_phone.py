"""The customer's shop as a phone page (issue #16): steppers bounded by what is left, "N bought",
pickup points as cards, a sticky submit bar, a link preview card (og: tags and a public poster),
and the order page as a timeline in plain words."""

import io
import re
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import update

from app.extensions import db
from app.models import Order, Window
from app.services.closing import closing
from app.services.core import clock
from app.services.orders import ordering, payments
from tests.support.shop import ShopBuilder


@pytest.fixture
def shop(make_product, make_window, make_leader, make_point, make_share_link):
    return ShopBuilder(make_product, make_window, make_leader, make_point, make_share_link)


def test_each_item_has_a_stepper_bounded_by_what_is_left_and_says_how_many_were_bought(client, shop):
    s = shop(stock=7, limit=5)
    ordering.place_order(s.slug, **s.order_args(2))
    html = client.get(f"/s/{s.slug}").get_data(as_text=True)
    row = re.search(rf'data-testid="item-{s.item.id}".*?</li>', html, re.S).group(0)
    assert "data-stepper" in row and f'name="qty-{s.item.id}"' in row
    assert 'max="5"' in row and 'min="0"' in row  # the per-customer limit is below the 5 left
    assert f'data-testid="sold-{s.item.id}"' in row and "2 bought" in row
    assert f'data-price="{s.item.group_price_fen}" data-testid="item-{s.item.id}"' in html


def test_a_sold_out_item_has_no_quantity_box(client, shop):
    s = shop(stock=1)
    ordering.place_order(s.slug, **s.order_args(1))
    html = client.get(f"/s/{s.slug}").get_data(as_text=True)
    row = re.search(rf'data-testid="item-{s.item.id}".*?</li>', html, re.S).group(0)
    assert 'data-testid="sold-out"' in row and "<input" not in row


def test_the_order_form_ends_in_a_sticky_submit_bar_and_points_are_cards(client, shop):
    s = shop()
    html = client.get(f"/s/{s.slug}").get_data(as_text=True)
    assert re.search(r'class="ui-actionbar" data-testid="submit-bar".*?data-testid="place-order"', html, re.S)
    assert 'class="point-card"' in html and s.point.address in html


def test_a_stepper_left_at_zero_orders_nothing_and_says_so(client, shop):
    s = shop()
    page = client.get(f"/s/{s.slug}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        f"/s/{s.slug}",
        data={
            "csrf_token": token,
            f"qty-{s.item.id}": "0",
            "pickup_point_id": str(s.point.id),
            "customer_name": "张三",
            "customer_phone": "13800138000",
            "payment_provider": "simulator",
        },
    )
    assert response.status_code == 422 and db.session.query(Order).count() == 0


def test_the_share_page_has_a_preview_card_with_the_posters_absolute_address(client, shop, app):
    s = shop()
    html = client.get(f"/s/{s.slug}").get_data(as_text=True)
    base = app.config["PUBLIC_BASE_URL"].rstrip("/")
    assert f'<meta property="og:title" content="{s.window.title} · {s.leader.community_name}">' in html
    assert f'<meta property="og:image" content="{base}/s/{s.slug}/poster.png">' in html
    assert f'<meta property="og:url" content="{base}/s/{s.slug}">' in html
    assert re.search(r'<meta property="og:description" content="[^"]+">', html)


def test_the_poster_is_a_public_png_for_a_real_link_only(client, shop):
    s = shop()
    response = client.get(f"/s/{s.slug}/poster.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert "public" in response.headers["Cache-Control"]
    assert Image.open(io.BytesIO(response.data)).size[0] > 300
    for slug in ("nope", "x" * 40, "%00", "../etc"):
        assert client.get(f"/s/{slug}/poster.png").status_code == 404


def test_a_draft_windows_poster_is_not_found(client, shop):
    s = shop(status="draft")
    assert client.get(f"/s/{s.slug}/poster.png").status_code == 404


def _steps(html: str) -> list[tuple[str, str]]:
    timeline = re.search(r'<ol class="timeline".*?</ol>', html, re.S).group(0)
    return re.findall(r'timeline__step--(\w+)" data-step="(\w+)"', timeline)


def test_the_order_page_tells_the_orders_story_as_a_timeline(client, shop):
    s = shop()
    order = ordering.place_order(s.slug, **s.order_args(1))
    assert _steps(client.get(f"/o/{order.access_token}").get_data(as_text=True)) == [
        ("done", "placed"),
        ("current", "paid"),
        ("todo", "closed"),
        ("todo", "arrived"),
        ("todo", "collected"),
    ]
    payments.record_payment(order, "simulator", "sim-t", order.total_fen, "test")
    db.session.commit()
    html = client.get(f"/o/{order.access_token}").get_data(as_text=True)
    assert _steps(html)[:3] == [("done", "placed"), ("done", "paid"), ("current", "closed")]
    assert "simulator" not in html.replace("payments/simulator", "")


def test_a_cancelled_order_ends_its_timeline_with_the_cancel(client, shop):
    s = shop()
    order = ordering.place_order(s.slug, **s.order_args(1))
    ordering.cancel_order(order.access_token)
    assert _steps(client.get(f"/o/{order.access_token}").get_data(as_text=True)) == [
        ("done", "placed"),
        ("ended", "cancelled"),
    ]


def test_the_leaders_order_history_is_in_plain_words(client, login, shop):
    s = shop()
    order = ordering.place_order(s.slug, **s.order_args(1))
    payments.record_payment(order, "simulator", "sim-h", order.total_fen, "provider:simulator")
    db.session.execute(
        update(Window).where(Window.id == s.window.id).values(closes_at=clock.now() - timedelta(seconds=1))
    )
    db.session.commit()
    assert closing.close_window(s.window.id) is not None
    login(s.leader.user)
    html = client.get(f"/leader/orders/{order.id}").get_data(as_text=True)
    history = re.search(r'<ol class="history">.*?</ol>', html, re.S).group(0)
    for raw in ("system:close", "provider:simulator", "customer · placed", "window closed", "simulator"):
        assert raw not in history, raw
    assert "Order placed" in history and "Group buy closed; order confirmed" in history
    assert "the payment service" in history and "the system" in history
