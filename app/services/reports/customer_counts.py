"""Distinct customers over a range of days: exact while that is cheap, HyperLogLog past it.

The exact count walks the merchant's customer days in the range (one index row per customer per
day). Up to EXACT_LIMIT rows that is a few milliseconds and the dashboard shows the true number;
beyond it (a month of a merchant with thousands of orders a day) the count merges one sketch per
day instead — 4,096 one-byte registers, a standard error of 1.6% — and the page marks the figure
as an estimate. Sketches are kept by the rollup job beside the exact rows (sales_rollup.py).
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from datetime import date

from sqlalchemy import func, select

from app.extensions import db
from app.models import CustomerDay, CustomerSketch
from app.services.core.dialect import insert_for_dialect

EXACT_LIMIT = 20_000
P = 12  # register index bits
M = 1 << P
_REST = 64 - P
_ALPHA = 0.7213 / (1 + 1.079 / M)
_INVERSE_POWERS = [2.0**-r for r in range(_REST + 2)]


def _register(phone: str) -> tuple[int, int]:
    """(register index, rank) of a phone: the first P hash bits pick it, the rest give the rank."""
    x = int.from_bytes(hashlib.blake2b(phone.encode(), digest_size=8).digest(), "big")
    rest = x & ((1 << _REST) - 1)
    return x >> _REST, _REST - rest.bit_length() + 1


def sketch_of(phones) -> bytearray:
    registers = bytearray(M)
    for phone in phones:
        index, rank = _register(phone)
        if rank > registers[index]:
            registers[index] = rank
    return registers


def merge(sketches) -> bytes:
    """The sketch of the union (registers are maxima, so merging is also idempotent)."""
    sketches = [bytes(s) for s in sketches]
    if not sketches:
        return bytes(M)
    if len(sketches) == 1:
        return sketches[0]
    return bytes(map(max, *sketches))


def estimate(registers: bytes) -> int:
    """HyperLogLog's estimate with the small-range (linear counting) correction."""
    raw = _ALPHA * M * M / sum(_INVERSE_POWERS[r] for r in registers)
    zeros = registers.count(0)
    if raw <= 2.5 * M and zeros:
        return round(M * math.log(M / zeros))
    return round(raw)


def add_to_sketches(customers: set[tuple[int, date, str]]) -> None:
    """Fold (merchant, day, phone) into the day sketches, in the caller's transaction."""
    by_day: dict[tuple[int, date], list[str]] = defaultdict(list)
    for merchant_id, day, phone in customers:
        by_day[(merchant_id, day)].append(phone)
    insert = insert_for_dialect()
    for (merchant_id, day), phones in sorted(by_day.items()):
        db.session.execute(
            insert(CustomerSketch.__table__)
            .values(merchant_id=merchant_id, day=day, registers=bytes(M))
            .on_conflict_do_nothing(index_elements=["merchant_id", "day"])
        )
        # Locked for the read-merge-write on PostgreSQL; SQLite's writer lock already serializes it.
        current = db.session.scalar(
            select(CustomerSketch.registers)
            .where(CustomerSketch.merchant_id == merchant_id, CustomerSketch.day == day)
            .with_for_update()
        )
        merged = merge([current, sketch_of(phones)])
        db.session.execute(
            CustomerSketch.__table__.update()
            .where(CustomerSketch.merchant_id == merchant_id, CustomerSketch.day == day)
            .values(registers=merged)
        )


def distinct_customers(merchant_id: int, start: date, end: date, orders: int | None = None) -> tuple[int, bool]:
    """(customers, whether the number is an estimate) for the merchant's days start..end.
    `orders` in the range, when the caller knows it, bounds the customer days (each order has one
    customer) and decides without counting them; otherwise the customer days are counted."""
    in_range = (CustomerDay.merchant_id == merchant_id, CustomerDay.day >= start, CustomerDay.day <= end)
    if orders is None:
        orders = db.session.scalar(select(func.count()).select_from(CustomerDay).where(*in_range)) or 0
    if orders <= EXACT_LIMIT:
        distinct = select(CustomerDay.customer_phone).where(*in_range).group_by(CustomerDay.customer_phone)
        return db.session.scalar(select(func.count()).select_from(distinct.subquery())) or 0, False
    sketches = db.session.scalars(
        select(CustomerSketch.registers).where(
            CustomerSketch.merchant_id == merchant_id, CustomerSketch.day >= start, CustomerSketch.day <= end
        )
    )
    return estimate(merge(sketches)), True
