"""Distinct customers: exact below the limit, a HyperLogLog estimate within its error above it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.extensions import db
from app.models import CustomerDay
from app.services.reports import customer_counts
from app.services.reports.customer_counts import estimate, merge, sketch_of

DAY = date(2026, 11, 1)


def _phones(start: int, n: int) -> list[str]:
    return [f"139{i:08d}" for i in range(start, start + n)]


@pytest.mark.parametrize("n", [0, 1, 3, 50, 1000, 20_000, 200_000])
def test_estimate_is_within_four_standard_errors(n):
    guess = estimate(bytes(sketch_of(_phones(0, n))))
    assert abs(guess - n) <= max(1, 4 * 0.0163 * n)


def test_merging_day_sketches_counts_a_returning_customer_once():
    monday, tuesday = sketch_of(_phones(0, 3000)), sketch_of(_phones(1000, 3000))  # 2,000 came back
    union = estimate(merge([monday, tuesday]))
    assert abs(union - 4000) <= 4 * 0.0163 * 4000
    assert merge([monday, monday]) == bytes(monday)  # folding the same phones twice changes nothing


def test_small_ranges_are_counted_exactly(app, make_merchant, monkeypatch):
    merchant = make_merchant()
    rows = [(DAY + timedelta(days=d), phone) for d in range(3) for phone in _phones(d * 10, 20)]
    db.session.add_all([CustomerDay(merchant_id=merchant.id, day=day, customer_phone=p) for day, p in rows])
    db.session.commit()
    assert customer_counts.distinct_customers(merchant.id, DAY, DAY + timedelta(days=2)) == (40, False)

    # Past the limit the sketches answer (none were written here, so the estimate is 0: proof of the switch).
    monkeypatch.setattr(customer_counts, "EXACT_LIMIT", 10)
    assert customer_counts.distinct_customers(merchant.id, DAY, DAY + timedelta(days=2)) == (0, True)


def test_rollup_keeps_sketches_that_agree_with_the_exact_count(app, make_merchant, monkeypatch):
    merchant = make_merchant()
    customers = {(merchant.id, DAY + timedelta(days=d), p) for d in range(4) for p in _phones(d * 300, 600)}
    customer_counts.add_to_sketches(customers)
    customer_counts.add_to_sketches(customers)  # a re-run adds nothing
    db.session.add_all([CustomerDay(merchant_id=m, day=d, customer_phone=p) for m, d, p in customers])
    db.session.commit()
    exact, estimated = customer_counts.distinct_customers(merchant.id, DAY, DAY + timedelta(days=3))
    assert (exact, estimated) == (600 + 3 * 300, False)
    monkeypatch.setattr(customer_counts, "EXACT_LIMIT", 100)
    guess, estimated = customer_counts.distinct_customers(merchant.id, DAY, DAY + timedelta(days=3))
    assert estimated and abs(guess - exact) <= 4 * 0.0163 * exact
