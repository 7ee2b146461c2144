import json

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditRecord, Order, OrderEvent, Payment, Refund
from app.services.core.errors import AmountMismatch, BadSignature, InvalidTransition, RefundTooLarge, ValidationFailed
from app.services.orders import ordering, payments
from app.services.orders.payment_providers import sign_simulator_body
from tests.support.shop import ShopBuilder


@pytest.fixture
def shop(make_product, make_window, make_leader, make_point, make_share_link):
    return ShopBuilder(make_product, make_window, make_leader, make_point, make_share_link)


@pytest.fixture
def pending(app, shop):
    s = shop(stock=10, price_fen=1250)
    return ordering.place_order(s.slug, **s.order_args(2))


def _body(order, *, amount=None, ref="sim_abc123", **extra) -> bytes:
    body = {
        "order_number": order.number,
        "amount_fen": order.total_fen if amount is None else amount,
        "provider_ref": ref,
        "paid_at": "2026-11-22T02:00:00+00:00",
    }
    body.update(extra)
    return json.dumps(body).encode()


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _audits(action) -> list[AuditRecord]:
    return list(db.session.scalars(select(AuditRecord).where(AuditRecord.action == action)))


def _reload(order) -> Order:
    db.session.expire_all()
    return db.session.get(Order, order.id)


def test_record_payment_marks_pending_order_paid_with_event_and_audit(pending):
    payment = payments.record_payment(pending, "simulator", "sim_1", pending.total_fen, "provider:simulator")
    db.session.commit()
    order = _reload(pending)
    assert (order.status, order.paid_fen, payment.late) == ("paid", 2500, False)
    assert order.paid_at is not None
    assert db.session.scalar(select(OrderEvent.to_status).order_by(OrderEvent.id.desc())) == "paid"
    [record] = _audits("payment_recorded")
    assert record.object_id == order.id and record.detail["provider_ref"] == "sim_1"


def test_signed_webhook_records_the_payment(pending):
    raw = _body(pending)
    result = payments.handle_simulator_webhook(raw, sign_simulator_body(raw))
    assert result["ok"] and result["order_number"] == pending.number and result["late"] is False
    assert _reload(pending).status == "paid"


def test_replayed_webhook_answers_the_same_and_changes_nothing(pending):
    raw = _body(pending)
    first = payments.handle_simulator_webhook(raw, sign_simulator_body(raw))
    second = payments.handle_simulator_webhook(raw, sign_simulator_body(raw))
    assert first == second
    assert _count(Payment) == 1 and _count(Refund) == 0
    assert _reload(pending).paid_fen == 2500
    assert len(_audits("payment_recorded")) == 1


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=", "sha256=" + "0" * 64, "md5=abc", "garbage"],
)
def test_bad_or_missing_signature_is_refused_and_changes_nothing(pending, signature):
    with pytest.raises(BadSignature):
        payments.handle_simulator_webhook(_body(pending), signature)
    assert _reload(pending).status == "pending_payment"
    assert _count(Payment) == 0


def test_signature_over_another_body_is_refused(pending):
    with pytest.raises(BadSignature):
        payments.handle_simulator_webhook(_body(pending, amount=1), sign_simulator_body(_body(pending)))
    assert _count(Payment) == 0


def test_signature_with_another_secret_is_refused(app, pending):
    raw = _body(pending)
    good = sign_simulator_body(raw)
    app.config["PAYMENT_WEBHOOK_SECRET"] = "another-secret"
    with pytest.raises(BadSignature):
        payments.handle_simulator_webhook(raw, good)
    assert _count(Payment) == 0


def test_amount_mismatch_is_refused_audited_and_changes_nothing(pending):
    raw = _body(pending, amount=pending.total_fen - 1)
    with pytest.raises(AmountMismatch):
        payments.handle_simulator_webhook(raw, sign_simulator_body(raw))
    assert _reload(pending).status == "pending_payment"
    assert _count(Payment) == 0
    [record] = _audits("payment_amount_mismatch")
    assert record.detail["amount_fen"] == 2499


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"{}",
        b'{"order_number": "x", "amount_fen": "12", "provider_ref": "sim_1", "paid_at": "2026-01-01T00:00:00Z"}',
        b'{"order_number": "x", "amount_fen": 12, "provider_ref": "other_1", "paid_at": "2026-01-01T00:00:00Z"}',
        b'{"order_number": "x", "amount_fen": -1, "provider_ref": "sim_1", "paid_at": "2026-01-01T00:00:00Z"}',
    ],
)
def test_signed_but_malformed_body_is_refused(pending, body):
    with pytest.raises(ValidationFailed):
        payments.handle_simulator_webhook(body, sign_simulator_body(body))
    assert _count(Payment) == 0


def test_webhook_for_unknown_order_is_not_found(pending):
    from app.services.core.errors import NotFound

    raw = json.dumps(
        {"order_number": "NOPE", "amount_fen": 1, "provider_ref": "sim_1", "paid_at": "2026-01-01T00:00:00Z"}
    ).encode()
    with pytest.raises(NotFound):
        payments.handle_simulator_webhook(raw, sign_simulator_body(raw))


def test_late_payment_after_cancel_is_recorded_and_refunded(pending):
    ordering.cancel_order(pending.access_token)
    raw = _body(pending, ref="sim_late")
    result = payments.handle_simulator_webhook(raw, sign_simulator_body(raw))
    assert result["late"] is True
    order = _reload(pending)
    assert order.status == "cancelled"
    payment = db.session.scalar(select(Payment))
    assert payment.late and payment.amount_fen == 2500
    refund = db.session.scalar(select(Refund))
    assert (refund.payment_id, refund.amount_fen, refund.reason, refund.status) == (
        payment.id,
        2500,
        "late_payment",
        "succeeded",
    )
    assert order.paid_fen == order.refunded_fen == 2500
    assert len(_audits("late_payment_refund")) == 1
    # the replay of the late notification refunds nothing more
    payments.handle_simulator_webhook(raw, sign_simulator_body(raw))
    assert _count(Refund) == 1


def test_second_payment_for_a_paid_order_is_refunded(pending):
    for ref in ("sim_first", "sim_second"):
        raw = _body(pending, ref=ref)
        payments.handle_simulator_webhook(raw, sign_simulator_body(raw))
    order = _reload(pending)
    assert order.status == "paid"
    assert (order.paid_fen, order.refunded_fen) == (5000, 2500)
    late = db.session.scalar(select(Payment).where(Payment.provider_ref == "sim_second"))
    assert late.late
    assert db.session.scalar(select(Refund.payment_id)) == late.id


def test_simulator_pay_pays_through_the_webhook(pending):
    order = payments.simulator_pay(pending.access_token)
    assert order.status == "paid"
    payment = db.session.scalar(select(Payment))
    assert payment.provider == "simulator" and payment.provider_ref.startswith("sim_")
    with pytest.raises(InvalidTransition):
        payments.simulator_pay(pending.access_token)
    assert _count(Payment) == 1


# ---- offline


def test_offline_marking_pays_own_orders_and_skips_others(app, shop, make_order):
    s = shop(stock=20)
    mine = ordering.place_order(s.slug, **s.order_args(1, provider="offline"))
    mine2 = ordering.place_order(s.slug, **s.order_args(1, phone="13900139000", provider="offline"))
    already = make_order(s.window, s.point, [(s.item, 1)], status="paid")
    other = shop(stock=20)
    theirs = ordering.place_order(other.slug, **other.order_args(1, provider="offline"))
    user = s.leader.user
    result = payments.mark_paid_offline([mine.id, mine2.id, already.id, theirs.id, 99999], s.leader, user)
    assert result["marked"] == [mine.id, mine2.id]
    skipped = {row["order_id"]: row["reason"] for row in result["skipped"]}
    assert skipped == {already.id: "not_pending", theirs.id: "not_found", 99999: "not_found"}
    assert _reload(mine).status == "paid" and _reload(theirs).status == "pending_payment"
    refs = set(db.session.scalars(select(Payment.provider_ref)))
    assert refs == {f"offline-{mine.id}", f"offline-{mine2.id}"}
    assert {r.detail["provider_ref"] for r in _audits("payment_recorded")} == refs
    assert all(r.actor == f"user:{user.id}" for r in _audits("payment_recorded"))


def test_marking_offline_twice_records_one_payment(app, shop):
    s = shop()
    order = ordering.place_order(s.slug, **s.order_args(1, provider="offline"))
    payments.mark_paid_offline([order.id], s.leader, s.leader.user)
    again = payments.mark_paid_offline([order.id, order.id], s.leader, s.leader.user)
    assert again == {"marked": [], "skipped": [{"order_id": order.id, "reason": "not_pending", "status": "paid"}]}
    assert _count(Payment) == 1


def test_cancel_of_offline_paid_order_leaves_a_pending_cash_refund(app, shop):
    s = shop()
    order = ordering.place_order(s.slug, **s.order_args(2, provider="offline"))
    payments.mark_paid_offline([order.id], s.leader, s.leader.user)
    ordering.cancel_order(order.access_token)
    refund = db.session.scalar(select(Refund))
    assert (refund.status, refund.amount_fen) == ("pending", order.total_fen)


# ---- refund bounds


def test_refund_never_exceeds_what_was_paid(pending):
    payments.record_payment(pending, "simulator", "sim_1", pending.total_fen, "test")
    db.session.commit()
    order = _reload(pending)
    with pytest.raises(RefundTooLarge):
        payments.refund(order, 2501, "shortage", "test")
    db.session.rollback()
    payments.refund(order, 2000, "shortage", "test")
    db.session.commit()
    with pytest.raises(RefundTooLarge):
        payments.refund(order, 501, "shortage", "test")
    db.session.rollback()
    payments.refund(order, 500, "shortage", "test")
    db.session.commit()
    order = _reload(pending)
    assert order.refunded_fen == order.paid_fen == 2500
    assert [r.amount_fen for r in db.session.scalars(select(Refund).order_by(Refund.id))] == [2000, 500]
    assert len(_audits("refund")) == 2


@pytest.mark.parametrize("amount", [0, -5, 1.5, "100", True])
def test_refund_amount_must_be_positive_whole_fen(pending, amount):
    payments.record_payment(pending, "simulator", "sim_1", pending.total_fen, "test")
    db.session.commit()
    with pytest.raises(ValidationFailed):
        payments.refund(_reload(pending), amount, "shortage", "test")


def test_refund_without_payment_is_refused(pending):
    with pytest.raises(InvalidTransition):
        payments.refund(pending, 100, "shortage", "test")
