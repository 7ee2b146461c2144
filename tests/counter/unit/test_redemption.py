import uuid

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditRecord, DeliveryBatch, Order, OrderEvent, PickupCode, Redemption
from app.services.core.errors import (
    AlreadyRedeemed,
    BadSignature,
    Conflict,
    InvalidCode,
    NotArrived,
    NotYourPickupPoint,
    ValidationFailed,
)
from app.services.counter import redemption
from app.services.pickup import codes
from tests.support.pickup import Bags, items_of


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order)


def key() -> str:
    return uuid.uuid4().hex


def audits(action: str) -> list[AuditRecord]:
    return list(db.session.scalars(select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.id)))


def test_typed_code_with_a_space_finds_the_live_code(bags):
    bag = bags.make()
    typed = codes.format_code(bag.code.code)
    assert " " in typed
    assert redemption.find_code(bag.staff, bag.point.id, typed).id == bag.code.id


def test_scanned_qr_finds_the_code(bags):
    bag = bags.make()
    assert redemption.find_code(bag.staff, bag.point.id, codes.qr_text(bag.code)).id == bag.code.id


def test_preview_masks_the_customer_and_offers_a_fresh_key(bags):
    bag = bags.make(name="欧阳娜娜", phone="13812345678")
    data = redemption.preview(bag.staff, bag.point.id, bag.code.code)
    assert data["customer_name"] == "欧***"
    assert data["customer_phone"] == "138****5678"
    assert data["redeemable"] is True
    assert data["order_number"] == bag.order.number
    assert len(data["idempotency_key"]) == 32
    assert redemption.preview(bag.staff, bag.point.id, bag.code.code)["idempotency_key"] != data["idempotency_key"]


def test_redeem_hands_over_once_and_completes_the_order(bags):
    bag = bags.make(quantities=(2, 1))
    result = redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), device="scanner-1", code_text=bag.code.code)
    assert result["outcome"] == "redeemed"
    assert result["redeemed_by"] == bag.staff.name
    code = db.session.get(PickupCode, bag.code.id, populate_existing=True)
    assert code.status == "redeemed" and code.live_code is None and code.redeemed_by_id == bag.staff.id
    order = db.session.get(Order, bag.order.id, populate_existing=True)
    assert order.status == "completed" and order.completed_at is not None
    assert {item.status for item in items_of(order)} == {"redeemed"}
    event = db.session.scalar(select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id.desc()))
    assert (event.from_status, event.to_status, event.actor) == (
        "ready_for_pickup",
        "completed",
        f"user:{bag.staff.id}",
    )
    [record] = audits("redeem")
    assert record.object_id == bag.code.id and record.detail["device"] == "scanner-1"


def test_second_redeem_of_same_code_is_refused_with_when_and_who(bags):
    bag = bags.make()
    redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), code_text=bag.code.code)
    with pytest.raises(AlreadyRedeemed) as refused:
        redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), code_text=bag.code.code)
    body = refused.value.to_dict()["error"]
    assert body["redeemed_by"] == bag.staff.name
    assert body["redeemed_at"]
    assert bag.staff.name in body["message"]
    assert len(audits("redeem")) == 1


def test_looking_up_a_redeemed_code_says_when_and_by_whom(bags):
    bag = bags.make()
    redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), code_text=bag.code.code)
    with pytest.raises(AlreadyRedeemed) as refused:
        redemption.find_code(bag.staff, bag.point.id, bag.code.code)
    assert refused.value.context["redeemed_by"] == bag.staff.name
    assert refused.value.context["redeemed_at"]


def test_replay_with_same_key_returns_the_first_answer(bags):
    bag = bags.make()
    request_key = key()
    first = redemption.redeem(bag.staff, bag.point.id, bag.code.id, request_key, code_text=bag.code.code)
    again = redemption.redeem(bag.staff, bag.point.id, bag.code.id, request_key, code_text=bag.code.code)
    assert again == first
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 1
    assert len(audits("redeem")) == 1


def test_replay_of_a_refusal_returns_the_same_refusal(bags):
    bag = bags.make(status="confirmed")
    request_key = key()
    with pytest.raises(NotArrived) as first:
        redemption.redeem(bag.staff, bag.point.id, bag.code.id, request_key, code_text=bag.code.code)
    # The goods arrive meanwhile; the replay still gets the first answer, a fresh key gets a new one.
    db.session.execute(db.update(Order).where(Order.id == bag.order.id).values(status="ready_for_pickup"))
    db.session.commit()
    with pytest.raises(NotArrived) as replayed:
        redemption.redeem(bag.staff, bag.point.id, bag.code.id, request_key, code_text=bag.code.code)
    assert replayed.value.to_dict() == first.value.to_dict()
    assert (
        redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), code_text=bag.code.code)["outcome"] == "redeemed"
    )


def test_replay_of_already_redeemed_refusal_keeps_its_details(bags):
    bag = bags.make()
    redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), code_text=bag.code.code)
    request_key = key()
    with pytest.raises(AlreadyRedeemed) as first:
        redemption.redeem(bag.staff, bag.point.id, bag.code.id, request_key, code_text=bag.code.code)
    with pytest.raises(AlreadyRedeemed) as replayed:
        redemption.redeem(bag.staff, bag.point.id, bag.code.id, request_key, code_text=bag.code.code)
    assert replayed.value.to_dict() == first.value.to_dict()


def test_someone_elses_key_is_a_conflict(bags, make_user):
    bag = bags.make()
    request_key = key()
    redemption.redeem(bag.staff, bag.point.id, bag.code.id, request_key, code_text=bag.code.code)
    colleague = bags.make(point=bag.point).staff
    with pytest.raises(Conflict) as refused:
        redemption.redeem(colleague, bag.point.id, bag.code.id, request_key, code_text=bag.code.code)
    assert refused.value.status == 409


def test_redeem_before_arrival_is_not_arrived(bags):
    bag = bags.make(status="confirmed")
    with pytest.raises(NotArrived):
        redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), code_text=bag.code.code)
    assert db.session.get(PickupCode, bag.code.id, populate_existing=True).status == "issued"
    assert not audits("redeem")


def test_code_of_another_point_is_not_found_at_mine(bags, make_point):
    bag = bags.make()
    mine = make_point(bag.leader, staff=[bag.staff])
    with pytest.raises(InvalidCode) as refused:
        redemption.find_code(bag.staff, mine.id, bag.code.code)
    assert refused.value.status == 404
    with pytest.raises(InvalidCode):
        redemption.redeem(bag.staff, mine.id, bag.code.id, key(), code_text=bag.code.code)


def test_staff_of_another_point_gets_404(bags, make_user, make_point):
    bag = bags.make()
    stranger = make_user("别家店员")
    make_point(staff=[stranger])
    with pytest.raises(NotYourPickupPoint) as refused:
        redemption.find_code(stranger, bag.point.id, bag.code.code)
    assert refused.value.status == 404
    with pytest.raises(NotYourPickupPoint):
        redemption.redeem(stranger, bag.point.id, bag.code.id, key(), code_text=bag.code.code)
    assert db.session.get(PickupCode, bag.code.id, populate_existing=True).status == "issued"


def test_scanned_qr_of_another_point_answers_like_an_unknown_code_and_audits_why(bags, make_point):
    bag = bags.make()
    mine = make_point(bag.leader, staff=[bag.staff])
    with pytest.raises(InvalidCode):
        redemption.find_code(bag.staff, mine.id, codes.qr_text(bag.code))
    record = db.session.scalars(select(AuditRecord).where(AuditRecord.action == "code_lookup")).all()[-1]
    assert record.detail["outcome"] == "wrong_point"


def test_leader_may_redeem_at_own_point(bags):
    bag = bags.make()
    leader_user = bag.leader.user
    assert (
        redemption.redeem(leader_user, bag.point.id, bag.code.id, key(), code_text=bag.code.code)["outcome"]
        == "redeemed"
    )


def test_void_code_is_invalid(bags):
    bag = bags.make()
    codes.void_code(bag.order.id)
    db.session.commit()
    with pytest.raises(InvalidCode):
        redemption.find_code(bag.staff, bag.point.id, bag.code.code)
    with pytest.raises(InvalidCode):
        redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), code_text=bag.code.code)


def test_shortage_lines_are_shown_struck_and_not_redeemed(bags):
    bag = bags.make(quantities=(2, 3, 1), shortages=(0, 1, 1))
    lines = redemption.preview(bag.staff, bag.point.id, bag.code.code)["items"]
    assert [(line["hand_over"], line["shortage"]) for line in lines] == [(2, False), (2, True), (0, True)]
    redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), code_text=bag.code.code)
    assert [item.status for item in items_of(bag.order)] == ["redeemed", "redeemed", "confirmed"]


def test_forged_qr_is_refused_and_audited(bags):
    bag = bags.make()
    forged = codes.qr_text(bag.code).replace(f".{bag.code.code}.", ".12345678.")
    with pytest.raises(BadSignature) as refused:
        redemption.find_code(bag.staff, bag.point.id, forged)
    assert "invalid signature" in refused.value.message.lower()
    [record] = audits("code_lookup")
    assert record.detail["outcome"] == "bad_signature"


def test_every_lookup_is_audited_without_the_full_code(bags):
    bag = bags.make()
    redemption.find_code(bag.staff, bag.point.id, bag.code.code)
    with pytest.raises(InvalidCode):
        redemption.find_code(bag.staff, bag.point.id, "0000 0001" if bag.code.code != "00000001" else "00000002")
    with pytest.raises(ValidationFailed):
        redemption.find_code(bag.staff, bag.point.id, "12ab")
    found, missing, malformed = audits("code_lookup")
    assert found.detail["outcome"] == "found" and found.object_id == bag.code.id
    assert missing.detail["outcome"] == "invalid_code" and len(missing.detail["last4"]) == 4
    assert malformed.detail["outcome"] == "validation_failed"
    for record in (found, missing, malformed):
        assert bag.code.code not in str(record.detail)


def test_redeeming_the_last_order_finishes_the_batch(bags):
    bag = bags.make()
    redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), code_text=bag.code.code)
    assert db.session.get(DeliveryBatch, bag.batch.id, populate_existing=True).status == "done"


def test_batch_stays_arrived_while_orders_wait(bags):
    first = bags.make()
    bags.make(point=first.point, staff=first.staff, window=first.window)
    redemption.redeem(first.staff, first.point.id, first.code.id, key(), code_text=first.code.code)
    assert db.session.get(DeliveryBatch, first.batch.id, populate_existing=True).status == "arrived"


@pytest.mark.parametrize("bad", ["", "short", "x" * 65, "has space in it", "é" * 10])
def test_malformed_idempotency_key_is_refused(bags, bad):
    bag = bags.make()
    with pytest.raises(ValidationFailed):
        redemption.redeem(bag.staff, bag.point.id, bag.code.id, bad, code_text=bag.code.code)
    assert db.session.get(PickupCode, bag.code.id, populate_existing=True).status == "issued"
