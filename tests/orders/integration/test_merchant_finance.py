"""The refund ledger: every refund of this merchant's orders with its reason and status, totals
by status; other merchants' refunds never appear."""

from __future__ import annotations

from app.extensions import db
from app.models import Refund
from tests.support.pickup import Bags


def test_the_ledger_lists_this_merchants_refunds_with_totals(
    client, login, make_user, make_product, make_window, make_point, make_order, make_merchant
):
    bags = Bags(make_user, make_product, make_window, make_point, make_order)
    mine, theirs = bags.make(), bags.make()
    db.session.add_all(
        [
            Refund(order_id=mine.order.id, amount_fen=1250, reason="shortage", status="succeeded"),
            Refund(order_id=mine.order.id, amount_fen=300, reason="after_sales", status="pending"),
            Refund(order_id=theirs.order.id, amount_fen=777, reason="shortage", status="succeeded"),
        ]
    )
    db.session.commit()
    owner_id = mine.window.merchant.members[0].user_id
    from app.models import User

    login(db.session.get(User, owner_id))
    page = client.get("/merchant/finance/refunds").get_data(as_text=True)
    succeeded = page.split('data-testid="total-succeeded"', 1)[1].split("</section>", 1)[0]
    pending = page.split('data-testid="total-pending"', 1)[1].split("</section>", 1)[0]
    assert "12.50" in succeeded and "3.00" in pending
    assert mine.order.number in page and theirs.order.number not in page and "7.77" not in page
    only_pending = client.get("/merchant/finance/refunds?status=pending").get_data(as_text=True)
    assert only_pending.count('data-testid="refund-') == 1
    assert client.get("/merchant/finance/refunds?status=bogus&page=x").status_code == 200
