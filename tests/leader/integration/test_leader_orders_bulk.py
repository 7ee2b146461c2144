"""Bulk actions on the leader's orders list: print labels or tickets of the selected bags and
remind the selected uncollected ones. Every selected order must qualify, or nothing happens."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Order
from app.services.deliveries import slots
from tests.support.engines import IN_CI
from tests.support.forms import csrf_from
from tests.support.pickup import Bags

PDFTOTEXT = shutil.which("pdftotext")


@pytest.fixture
def shelf(make_user, make_product, make_window, make_point, make_order, make_leader):
    bags = Bags(make_user, make_product, make_window, make_point, make_order)
    leader = make_leader("幸福里")
    east = make_point(leader, name="东门自提点")
    west = make_point(leader, name="西门自提点")
    first = bags.make(point=east, name="王小明")
    second = bags.make(point=east, staff=first.staff, window=first.window, name="李四")
    third = bags.make(point=west, window=first.window, name="赵六")
    for bag in (first, third):
        slots.assign_slots(bag.batch.id)
    db.session.commit()
    return leader, [first, second, third]


def _token(client) -> str:
    return csrf_from(client.get("/leader/orders?tab=ready_for_pickup").get_data(as_text=True))


def test_waiting_tab_offers_print_and_remind_for_every_row(client, login, shelf):
    leader, bags = shelf
    login(leader.user)
    html = client.get("/leader/orders?tab=ready_for_pickup").get_data(as_text=True)
    for bag in bags:
        assert f'name="order_ids" value="{bag.order.id}"' in html
    assert 'data-testid="bulk-print"' in html and 'data-testid="bulk-remind"' in html
    collected = client.get("/leader/orders?tab=completed").get_data(as_text=True)
    assert 'data-testid="bulk-remind"' not in collected


def test_print_selected_gives_one_pdf_with_each_chosen_bag(client, login, shelf, tmp_path):
    if PDFTOTEXT is None:
        if IN_CI:
            pytest.fail("pdftotext (poppler-utils) is required in CI")
        pytest.skip("poppler-utils not installed")
    leader, bags = shelf
    login(leader.user)
    chosen = [bags[0].order, bags[2].order]
    response = client.post(
        "/leader/orders/labels.pdf?tab=ready_for_pickup",
        data={"order_ids": [str(o.id) for o in chosen], "layout": "ticket58", "csrf_token": _token(client)},
    )
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = tmp_path / "bulk.pdf"
    pdf.write_bytes(response.data)
    text = subprocess.run([PDFTOTEXT, "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True).stdout.decode()
    assert chosen[0].number in text and chosen[1].number in text and bags[1].order.number not in text
    assert "东门自提点" in text and "西门自提点" in text and text.index("东门自提点") < text.index("西门自提点")


@pytest.mark.parametrize(
    "data",
    [{}, {"order_ids": ["x"]}, {"order_ids": ["9" * 12]}, {"order_ids": [str(i) for i in range(1, 300)]}],
    ids=["none", "not-a-number", "too-long", "too-many"],
)
def test_bad_selections_are_refused_with_a_message(client, login, shelf, data):
    leader, _bags = shelf
    login(leader.user)
    for url in ("/leader/orders/labels.pdf", "/leader/orders/remind"):
        response = client.post(url, data={**data, "csrf_token": _token(client)})
        assert response.status_code == 302
        assert "ui-toast--error" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(select(Order.reminded_at).where(Order.reminded_at.is_not(None))) is None


def test_unknown_layout_is_refused(client, login, shelf):
    leader, bags = shelf
    login(leader.user)
    response = client.post(
        "/leader/orders/labels.pdf",
        data={"order_ids": [str(bags[0].order.id)], "layout": "../../etc", "csrf_token": _token(client)},
    )
    assert response.status_code == 302


def test_another_leaders_or_unpacked_orders_print_nothing(client, login, shelf, make_leader, make_order):
    leader, bags = shelf
    unpacked = make_order(bags[0].window, bags[0].point, [(bags[0].window.items[0], 1)], status="paid")
    login(leader.user)
    response = client.post(
        "/leader/orders/labels.pdf",
        data={"order_ids": [str(bags[0].order.id), str(unpacked.id)], "csrf_token": _token(client)},
        follow_redirects=True,
    )
    assert response.mimetype == "text/html" and unpacked.number in response.get_data(as_text=True)
    login(make_leader().user)
    response = client.post(
        "/leader/orders/labels.pdf", data={"order_ids": [str(bags[0].order.id)], "csrf_token": _token(client)}
    )
    assert response.status_code == 302  # refused: not theirs, and the number is not disclosed
    assert bags[0].order.number not in client.get(response.headers["Location"]).get_data(as_text=True)


def test_remind_selected_stamps_them_and_gives_one_message_per_point(client, login, shelf, frozen_clock):
    leader, bags = shelf
    login(leader.user)
    response = client.post(
        "/leader/orders/remind?tab=ready_for_pickup",
        data={"order_ids": [str(b.order.id) for b in bags], "csrf_token": _token(client)},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count('data-testid="reminder-text"') == 2
    assert "东门自提点" in html and "西门自提点" in html and "王*" in html and "王小明" not in html
    reminded = db.session.scalars(select(Order.reminded_at).execution_options(populate_existing=True)).all()
    assert reminded == [frozen_clock.now] * 3


def test_remind_with_a_collected_order_among_them_stamps_none(client, login, shelf):
    leader, bags = shelf
    bags[1].order.status = "completed"
    db.session.commit()
    login(leader.user)
    response = client.post(
        "/leader/orders/remind",
        data={"order_ids": [str(b.order.id) for b in bags], "csrf_token": _token(client)},
        follow_redirects=True,
    )
    assert bags[1].order.number in response.get_data(as_text=True)
    assert db.session.scalar(select(Order.id).where(Order.reminded_at.is_not(None))) is None


def test_bulk_forms_without_csrf_are_refused(client, login, shelf):
    leader, bags = shelf
    login(leader.user)
    for url in ("/leader/orders/labels.pdf", "/leader/orders/remind"):
        assert client.post(url, data={"order_ids": [str(bags[0].order.id)]}).status_code == 400
