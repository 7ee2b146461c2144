"""The leader's Exceptions page: shortages, refunds with their reasons, after-sales requests —
only of this leader's orders."""

from __future__ import annotations

from app.extensions import db
from app.models import Refund
from tests.support.pickup import Bags


def test_shortages_and_refunds_are_listed_with_their_reasons(
    client, login, make_user, make_product, make_window, make_point, make_order, make_leader
):
    bags = Bags(make_user, make_product, make_window, make_point, make_order)
    short = bags.make(quantities=(3,), shortages=(2,), name="王小明")
    other = bags.make(quantities=(1,), shortages=(1,))  # another leader's point
    db.session.add_all(
        [
            Refund(order_id=short.order.id, amount_fen=2000, reason="shortage", status="succeeded"),
            Refund(order_id=short.order.id, amount_fen=300, reason="after_sales", status="pending"),
            Refund(order_id=other.order.id, amount_fen=999, reason="shortage", status="succeeded"),
        ]
    )
    db.session.commit()
    login(short.leader.user)
    page = client.get("/leader/exceptions", headers={"Accept-Language": "en"}).get_data(as_text=True)
    shortages = page.split('data-testid="exceptions-shortages"', 1)[1].split("</section>", 1)[0]
    assert short.order.number in shortages and "2 / 3" in shortages and "王*" in shortages
    assert other.order.number not in page
    refunds = page.split('data-testid="exceptions-refunds"', 1)[1].split("</section>", 1)[0]
    assert "Not delivered" in refunds and "After-sales" in refunds and "To pay back by hand" in refunds
    assert "¥20.00" in refunds and "¥3.00" in refunds and "¥9.99" not in refunds


def test_an_empty_exceptions_page_says_so_in_chinese(client, login, make_leader):
    leader = make_leader()
    login(leader.user)
    page = client.get("/leader/exceptions?lang=zh").get_data(as_text=True)
    assert "暂无缺货" in page and "暂无退款" in page and "暂无售后申请" in page
