"""The offline manifest (no codes, nothing derived from one) and the settling of queued offline hand-overs."""

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditRecord, Notification, OrderItem, PickupCode, Redemption
from app.services.core import clock
from app.services.core.errors import NotYourPickupPoint, ValidationFailed
from app.services.counter import offline_conflicts, offline_manifest, offline_sync, redemption
from app.services.notify import outbox
from app.services.pickup import codes
from tests.support.pickup import Bags


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order)


def queued(code_text: str, *, device: str = "scanner-a", at=None) -> dict:
    return {
        "idempotency_key": uuid.uuid4().hex,
        "code": code_text,
        "offline_at": at or clock.now() - timedelta(minutes=3),
        "device": device,
    }


def test_manifest_lists_waiting_bags_by_order_and_code_id_with_the_public_signing_keys(bags):
    bag = bags.make()
    data = offline_manifest.build(bag.staff, bag.point.id)
    assert data["version"] == offline_manifest.MANIFEST_VERSION == 2
    (entry,) = data["orders"]
    assert (entry["order_id"], entry["code_id"]) == (bag.order.id, bag.code.id)
    assert entry["status"] == "waiting" and entry["order_number"] == bag.order.number
    assert entry["customer_phone"].count("*") >= 4
    assert data["signing"]["keys"] == codes.public_keys()


def test_manifest_is_the_same_whatever_the_codes_are(bags, frozen_clock):
    """Nothing in it depends on a code's digits, so nothing in it can give one away: give every
    bag (waiting and collected) other digits and the manifest does not change by a byte."""
    first = bags.make()
    bags.make(point=first.point, staff=first.staff)
    done = bags.make(point=first.point, staff=first.staff)
    collected = db.session.get(PickupCode, done.code.id)
    collected.status, collected.live_code = "redeemed", None
    collected.redeemed_at, collected.redeemed_by_id = frozen_clock.now, first.staff.id
    db.session.commit()
    before = offline_manifest.build(first.staff, first.point.id)
    assert sorted(e["status"] for e in before["orders"]) == ["redeemed", "waiting", "waiting"]
    for code in db.session.scalars(select(PickupCode)):
        code.code = f"{(int(code.code) + 12_345_679) % 10**8:08d}"
        code.live_code = code.code if code.status == "issued" else None
    db.session.commit()
    assert json.dumps(offline_manifest.build(first.staff, first.point.id)) == json.dumps(before)


def test_manifest_shows_recently_collected_codes_as_redeemed_and_leaves_out_unarrived(bags):
    done = bags.make()
    bags.make(point=done.point, status="confirmed")
    redemption.redeem(done.staff, done.point.id, done.code.id, uuid.uuid4().hex, code_text=done.code.code)
    data = offline_manifest.build(done.staff, done.point.id)
    assert [(e["order_number"], e["status"]) for e in data["orders"]] == [(done.order.number, "redeemed")]
    assert data["orders"][0]["redeemed_by"] == done.staff.name


def test_manifest_of_a_point_the_user_does_not_staff_is_not_found_and_says_why(bags, make_user):
    bag = bags.make()
    with pytest.raises(NotYourPickupPoint) as refused:
        offline_manifest.build(make_user("路人"), bag.point.id)
    assert refused.value.message == "You do not work at this pickup point."


def test_synced_offline_hand_over_redeems_once_and_records_the_device_time(bags):
    bag = bags.make()
    item = queued(codes.qr_text(bag.code))
    (result,) = offline_sync.sync(bag.staff, bag.point.id, [item], "dev-aaaaaaaa")
    assert result["outcome"] == "redeemed" and result["complete"] is True
    row = db.session.scalar(select(Redemption).where(Redemption.idempotency_key == item["idempotency_key"]))
    assert row.offline_at == item["offline_at"].replace(microsecond=row.offline_at.microsecond)
    assert db.session.get(PickupCode, bag.code.id).status == "redeemed"
    # The device resends (it never saw the answer): same answer, nothing counted twice.
    (again,) = offline_sync.sync(bag.staff, bag.point.id, [item], "dev-aaaaaaaa")
    assert again["outcome"] == "redeemed"
    assert db.session.query(Redemption).filter_by(outcome="redeemed").count() == 1
    assert sum(i.redeemed_qty for i in db.session.scalars(select(OrderItem))) == 2


def test_second_offline_device_gets_a_conflict_and_the_leader_is_alerted_once(bags, make_user):
    bag = bags.make()
    other = make_user("店员二")
    bag.point.staff_links.append(type(bag.point.staff_links[0])(user_id=other.id))
    db.session.commit()
    first = queued(bag.code.code, device="scanner-a")
    second = queued(codes.format_code(bag.code.code), device="scanner-b")
    assert offline_sync.sync(bag.staff, bag.point.id, [first])[0]["outcome"] == "redeemed"
    (lost,) = offline_sync.sync(other, bag.point.id, [second])
    assert lost["outcome"] == "conflict" and lost["redeemed_by"] == bag.staff.name
    assert offline_sync.sync(other, bag.point.id, [second])[0]["outcome"] == "conflict"  # replay
    outbox.deliver_outbox()
    alerts = db.session.scalars(select(Notification).where(Notification.user_id == bag.leader.user_id)).all()
    assert len([n for n in alerts if "conflict" in n.title]) == 1
    (conflict,) = offline_conflicts.recent(bag.point.id)
    assert (
        conflict["by"] == other.name and conflict["device"] == "scanner-b" and conflict["winner_by"] == bag.staff.name
    )
    assert db.session.query(Redemption).filter_by(outcome="redeemed").count() == 1


def test_offline_hand_over_of_a_code_redeemed_online_meanwhile_is_a_conflict(bags):
    bag = bags.make()
    redemption.redeem(bag.staff, bag.point.id, bag.code.id, uuid.uuid4().hex, code_text=bag.code.code)
    (result,) = offline_sync.sync(bag.staff, bag.point.id, [queued(codes.qr_text(bag.code))])
    assert result["outcome"] == "conflict"
    assert len(offline_conflicts.recent(bag.point.id)) == 1


def test_forged_qr_in_a_sync_is_refused_and_changes_nothing(bags):
    bag = bags.make()
    text = codes.qr_text(bag.code)
    forged = text[:-4] + ("AAAA" if not text.endswith("AAAA") else "BBBB")
    (result,) = offline_sync.sync(bag.staff, bag.point.id, [queued(forged)])
    assert result["outcome"] == "refused" and result["error"]["code"] == "bad_signature"
    assert db.session.get(PickupCode, bag.code.id).status == "issued"


def test_implausible_device_time_is_refused_per_item_and_the_rest_still_settles(bags):
    bag = bags.make()
    late = bags.make(point=bag.point, staff=bag.staff)
    future = queued(bag.code.code, at=clock.now() + timedelta(hours=2))
    fine = queued(late.code.code)
    results = offline_sync.sync(bag.staff, bag.point.id, [future, fine])
    assert [r["outcome"] for r in results] == ["refused", "redeemed"]
    assert db.session.get(PickupCode, bag.code.id).status == "issued"


def test_locked_code_entry_leaves_the_rest_of_the_queue_pending(bags, app):
    bag = bags.make()
    app.config["CODE_LOCK_FAILURES"] = 2
    wrong = [queued("0000 0000" if bag.code.code != "00000000" else "11111111") for _ in range(2)]
    results = offline_sync.sync(bag.staff, bag.point.id, [*wrong, queued(bag.code.code)], "dev-bbbbbbbb")
    assert [r["outcome"] for r in results] == ["refused", "refused", "pending"]
    assert db.session.get(PickupCode, bag.code.id).status == "issued"


def test_sync_for_a_point_the_user_does_not_staff_or_too_many_items_changes_nothing(bags, make_user):
    bag = bags.make()
    with pytest.raises(NotYourPickupPoint):
        offline_sync.sync(make_user("路人"), bag.point.id, [queued(bag.code.code)])
    with pytest.raises(ValidationFailed):
        offline_sync.sync(bag.staff, bag.point.id, [queued(bag.code.code)] * (offline_sync.MAX_ITEMS + 1))
    assert db.session.get(PickupCode, bag.code.id).status == "issued"
    assert not db.session.scalars(select(AuditRecord).where(AuditRecord.action == "offline_sync")).all()


def test_sync_of_a_bag_that_has_not_arrived_is_refused_and_changes_nothing(bags):
    bag = bags.make(status="confirmed")
    (result,) = offline_sync.sync(bag.staff, bag.point.id, [queued(bag.code.code)])
    assert result["outcome"] == "refused" and result["error"]["code"] == "not_arrived"
    assert db.session.get(PickupCode, bag.code.id).status == "issued"
    assert sum(i.redeemed_qty for i in db.session.scalars(select(OrderItem))) == 0
    # The device already handed the bag over, so the leader is told why the server refused it.
    (reported,) = offline_conflicts.recent(bag.point.id)
    assert reported["outcome"] == "not_arrived" and reported["winner_by"] is None
