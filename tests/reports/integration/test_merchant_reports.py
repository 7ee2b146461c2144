"""The sales dashboard over HTTP: figures, charts, ranges, exports, bad input and tenant walls."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from app.extensions import db
from app.models import MerchantMember
from app.services.reports import sales_rollup
from tests.support import sales
from tests.support.sales import local

TODAY = date(2026, 11, 22)


@pytest.fixture
def owner_shop(signed_in_owner, frozen_clock, make_product, make_window, make_leader, make_point, make_order):
    """The signed-in owner's shop with three days of sales up to 'today' (2026-11-22, local)."""
    _user, merchant = signed_in_owner
    shop = sales.build(lambda: merchant, make_product, make_window, make_leader, make_point, merchant=merchant)
    sales.sell(shop, make_order, at=local(date(2026, 11, 18)), lines=[(0, 1)], phone="13900000001")
    sales.sell(shop, make_order, at=local(date(2026, 11, 20)), lines=[(0, 2), (1, 1)], phone="13900000002")
    late = sales.sell(shop, make_order, at=local(date(2026, 11, 21)), lines=[(1, 2)], point=1, phone="13900000003")
    sales.refund(late, 1000, at=local(date(2026, 11, 21)))
    sales_rollup.roll_up_sales()
    frozen_clock.now = local(TODAY)
    return shop


GMV = 2990 + (2 * 2990 + 3990) + 2 * 3990


def test_dashboard_shows_the_weeks_figures_and_draws_the_charts(client, owner_shop):
    page = client.get("/merchant/reports?range=7d")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="figure-gmv"' in html and "CN¥209.40" in html
    assert html.count('class="bar"') >= 7 + 2  # a bar per day, one per ranked product
    assert 'data-chart="trend"' in html and 'data-chart="products"' in html
    assert "阳光小区" in html and "翠湖花园" in html
    assert 'data-day="2026-11-20"' in html and f'data-fen="{2 * 2990 + 3990}"' in html


def test_today_shows_only_todays_sales(client, owner_shop):
    html = client.get("/merchant/reports?range=today").get_data(as_text=True)
    assert html.count(' data-day="') == 1
    assert "No sales in this period." in html


def test_custom_range_is_accepted_and_kept_in_the_export_links(client, owner_shop):
    html = client.get("/merchant/reports?range=custom&start=2026-11-20&end=2026-11-21").get_data(as_text=True)
    assert html.count(' data-day="') == 2
    assert "/merchant/reports/trend.xlsx?range=custom&amp;start=2026-11-20&amp;end=2026-11-21" in html


@pytest.mark.parametrize(
    "query",
    [
        "range=custom&start=2026-11-30&end=2026-11-01",
        "range=custom&start=2020-01-01&end=2026-11-01",
        "range=custom&start=&end=",
        "range=custom&start=%3Cscript%3Ealert(1)%3C/script%3E&end=2026-11-01",
        "range=custom&start=2026-11-01%00&end=2026-11-02",
        "range=custom&start=" + "9" * 5000 + "&end=2026-11-02",
        "range=forever",
        "range=" + "x" * 3000,
    ],
)
def test_bad_ranges_get_a_clear_error_not_a_500(client, owner_shop, query):
    page = client.get(f"/merchant/reports?{query}")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert 'data-testid="range-error"' in html
    assert "<script>alert(1)" not in html
    assert client.get(f"/merchant/reports/trend.xlsx?{query}").status_code == 400


def _sheet(response) -> list[tuple]:
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))


def test_every_table_exports_to_xlsx_with_exact_money(client, owner_shop):
    range_args = "range=custom&start=2026-11-16&end=2026-11-22"
    trend = _sheet(client.get(f"/merchant/reports/trend.xlsx?{range_args}"))
    assert trend[0] == ("Day", "GMV", "Orders", "Refunded")
    assert len(trend) == 1 + 7
    assert sum(Decimal(str(row[1])) for row in trend[1:]) == Decimal(GMV) / 100
    assert [row[2] for row in trend[1:]] == [0, 0, 1, 0, 1, 1, 0]

    overview = _sheet(client.get(f"/merchant/reports/overview.xlsx?{range_args}"))
    assert overview[1][0] == "GMV" and Decimal(str(overview[1][1])) == Decimal(GMV) / 100
    assert overview[2][:2] == ("Orders", 3)

    products = _sheet(client.get(f"/merchant/reports/products.xlsx?{range_args}"))
    assert [(row[1], row[3]) for row in products[1:]] == [("草莓", 3), ("脐橙", 3)]

    leaders = _sheet(client.get(f"/merchant/reports/leaders.xlsx?{range_args}"))
    assert [row[1] for row in leaders[1:]] == ["阳光小区", "翠湖花园"]
    points = _sheet(client.get(f"/merchant/reports/points.xlsx?{range_args}"))
    assert len(points) == 3
    windows = _sheet(client.get(f"/merchant/reports/windows.xlsx?{range_args}"))
    assert windows[0][0] == "Group buy" and len(windows) == 1  # the shop's window is still open


def test_unknown_export_table_is_404(client, owner_shop):
    assert client.get("/merchant/reports/secrets.xlsx").status_code == 404


def test_another_merchants_sales_never_show(
    client, owner_shop, make_merchant, make_product, make_window, make_leader, make_point, make_order
):
    other = sales.build(make_merchant, make_product, make_window, make_leader, make_point)
    other.leaders[0].community_name = "别家小区"
    db.session.commit()
    sales.sell(other, make_order, at=local(TODAY), lines=[(1, 50)])
    sales_rollup.roll_up_sales()
    html = client.get("/merchant/reports?range=7d").get_data(as_text=True)
    assert "别家小区" not in html
    assert f'data-fen="{50 * 3990}"' not in html
    leaders = _sheet(client.get("/merchant/reports/leaders.xlsx?range=7d"))
    assert "别家小区" not in [row[1] for row in leaders]


def test_pending_ledger_rows_are_announced_until_the_rollup_runs(client, owner_shop, make_order):
    sales.sell(owner_shop, make_order, at=local(TODAY), lines=[(0, 1)])
    html = client.get("/merchant/reports?range=today").get_data(as_text=True)
    assert "1 recent payment or refund is still being added" in html
    sales_rollup.roll_up_sales()
    html = client.get("/merchant/reports?range=today").get_data(as_text=True)
    assert "still being added" not in html and 'data-fen="2990"' in html


def test_staff_need_the_reports_area(app, owner_shop, make_user, login):
    merchant = owner_shop.merchant
    for areas, status in ((["finance"], 403), (["reports"], 200)):
        user = make_user("员工")
        db.session.add(MerchantMember(merchant_id=merchant.id, user_id=user.id, role="staff", areas=areas))
        db.session.commit()
        staff = app.test_client()
        login(user, c=staff)
        assert staff.get("/merchant/reports").status_code == status
        assert staff.get("/merchant/reports/trend.xlsx").status_code == status


def test_anonymous_visitors_are_sent_to_log_in(app):
    response = app.test_client().get("/merchant/reports")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_dashboard_in_chinese(client, owner_shop):
    html = client.get("/merchant/reports?range=7d", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "销售报表" in html and "热销商品" in html and "销售额" in html


def test_a_busy_merchants_month_shows_estimated_customers(client, owner_shop, monkeypatch):
    from app.services.reports import customer_counts

    monkeypatch.setattr(customer_counts, "EXACT_LIMIT", 1)
    html = client.get("/merchant/reports?range=30d").get_data(as_text=True)
    assert "≈ 3" in html and "are estimated (within about 2%)" in html
    chinese = client.get("/merchant/reports?range=30d&lang=zh").get_data(as_text=True)
    assert "误差约 2% 以内" in chinese


# ---- the JSON overview (/api/v1/merchant/reports/overview)


def test_api_overview_answers_the_same_figures_as_the_page(app, owner_shop, signed_in_owner):
    from tests.support.merchant_api import bearer

    owner, _merchant = signed_in_owner
    client = app.test_client()
    body = client.get(
        "/api/v1/merchant/reports/overview?range=custom&start=2026-11-16&end=2026-11-22", headers=bearer(owner)
    ).get_json()
    assert body["period"] == {"start": "2026-11-16", "end": "2026-11-22", "days": 7}
    figures = body["figures"]
    assert (figures["gmv_fen"], figures["orders"], figures["customers"]) == (GMV, 3, 3)
    assert (figures["refunded_fen"], figures["refund_rate_bp"]) == (1000, 1000 * 10_000 // GMV)
    assert figures["customers_estimated"] is False
    assert body["previous_period"]["end"] == "2026-11-15" and body["previous"]["orders"] == 0
    assert body["pending_ledger_rows"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("range=custom&start=2026-11-30&end=2026-11-01", "end"),
        ("range=custom&start=x&end=2026-11-01", "start"),
        ("range=weekly", "range"),
        ("range=" + "x" * 500, "range"),
        ("range=custom&start=" + "2" * 300 + "&end=2026-11-01", "start"),
    ],
)
def test_api_overview_refuses_bad_ranges_with_the_field_named(app, owner_shop, signed_in_owner, query, field):
    from tests.support.merchant_api import bearer

    owner, _merchant = signed_in_owner
    response = app.test_client().get(f"/api/v1/merchant/reports/overview?{query}", headers=bearer(owner))
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_api_overview_needs_the_reports_area(app, owner_shop, make_user):
    from tests.support.merchant_api import bearer

    user = make_user("员工")
    db.session.add(
        MerchantMember(merchant_id=owner_shop.merchant.id, user_id=user.id, role="staff", areas=["products"])
    )
    db.session.commit()
    response = app.test_client().get("/api/v1/merchant/reports/overview", headers=bearer(user))
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
    assert app.test_client().get("/api/v1/merchant/reports/overview").status_code == 401


def test_the_merchant_home_shows_todays_sales(
    client, signed_in_owner, frozen_clock, make_product, make_window, make_leader, make_point, make_order
):
    _user, merchant = signed_in_owner
    shop = sales.build(lambda: merchant, make_product, make_window, make_leader, make_point, merchant=merchant)
    sales.sell(shop, make_order, at=local(date(2026, 11, 21)), lines=[(0, 1)], phone="13900000001")  # yesterday
    sales.sell(shop, make_order, at=local(TODAY), lines=[(0, 2)], phone="13900000002")
    sales_rollup.roll_up_sales()
    frozen_clock.now = local(TODAY)
    page = client.get("/merchant/").get_data(as_text=True)
    assert 'data-testid="today-sales"' in page
    # Today's one order (2 × ¥29.90), not yesterday's; English writes the yuan as CN¥.
    assert re.search(r'data-testid="today-gmv">(CN)?¥59\.80<', page)
    assert 'data-testid="today-orders">1<' in page


def test_a_team_member_without_reports_sees_no_sales_on_the_home(client, make_user, make_merchant, login):
    owner = make_user("老板")
    merchant = make_merchant(owner=owner)
    clerk = make_user("库管")
    db.session.add(MerchantMember(merchant_id=merchant.id, user_id=clerk.id, role="staff", areas=["products"]))
    db.session.commit()
    login(clerk)
    page = client.get("/merchant/").get_data(as_text=True)
    assert 'data-testid="today-sales"' not in page
