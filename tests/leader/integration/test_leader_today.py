"""The leader's Today page: open windows with this leader's sales so far, bags waiting and
overdue, and unread alerts, each linking to where to act."""

import re
from datetime import timedelta

from app.extensions import db
from app.models import Order
from app.services.core import clock
from app.services.notify import notifications, outbox


def test_today_shows_sales_so_far_overdue_bags_and_unread_alerts(
    app, client, login, make_leader, make_point, make_product, make_window, make_order
):
    leader = make_leader("阳光小区")
    point = make_point(leader)
    window = make_window(title="周末水果团", items=[{"product": make_product(stock=100), "price_fen": 500}])
    item = window.items[0]
    make_order(window, point, [(item, 2)])
    make_order(window, point, [(item, 1)])
    make_order(window, point, [(item, 1)], status="pending_payment")  # not a sale yet
    make_order(window, make_point(make_leader("翠湖花园")), [(item, 3)])  # another leader's sale
    late = make_order(window, point, [(item, 1)], status="ready_for_pickup")
    fresh = make_order(window, point, [(item, 1)], status="ready_for_pickup")
    db.session.get(Order, late.id).arrived_at = clock.now() - timedelta(days=3)
    db.session.get(Order, fresh.id).arrived_at = clock.now() - timedelta(hours=3)
    notifications.enqueue("stock_alert", user_ids=[leader.user_id], title="库存预警")
    db.session.commit()
    outbox.deliver_outbox()
    login(leader.user)
    page = client.get("/leader/").get_data(as_text=True)
    sales = page.split(f'data-testid="sales-{window.id}">', 1)[1].split("</td>", 1)[0]
    # Paid, waiting and so on all count; the unpaid order and the other leader's do not.
    assert "4 orders" in sales and "¥25.00" in sales
    assert 'data-testid="waiting-pickup">2<' in page
    assert 'data-testid="overdue-pickup">1<' in page
    assert 'data-testid="unread-alerts">1<' in page
    # The overdue tile opens the pickup overview, where the reminder is a tap away.
    assert re.search(
        r'<a class="ui-tile" href="/leader/pickup">\s*<span class="ui-tile__figure" data-testid="overdue-pickup">', page
    )
