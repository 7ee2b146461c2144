"""Offline devices reconnecting at the same moment, each syncing its queued hand-over of the same
bag: the code is redeemed once, every other device gets one conflict, the leader one alert per
conflict, and a device replaying its sync gets its first answer — against a real server."""

import uuid
from collections import Counter
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditRecord, OutboxMessage, PickupCode, PickupStaff, Redemption
from app.services.accounts import tokens
from app.services.core import clock
from tests.counter.concurrency.test_redeem_once import _all_at_once, _scalar
from tests.support.pickup import Bags

DEVICES = 12


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order)


def test_twelve_offline_devices_syncing_one_code_settle_to_one_redemption(live_server, bags, make_user):
    bag = bags.make()
    devices = []
    for n in range(DEVICES):
        clerk = make_user(f"店员{n}")
        db.session.add(PickupStaff(pickup_point_id=bag.point.id, user_id=clerk.id))
        db.session.commit()
        devices.append(
            {
                "headers": {
                    "Authorization": f"Bearer {tokens.create_token(clerk, 'scanner')[1]}",
                    "X-Device-Id": f"device-{n:04d}-{uuid.uuid4().hex[:8]}",
                },
                "item": {
                    "idempotency_key": uuid.uuid4().hex,
                    "code": bag.code.code,
                    "offline_at": (clock.now() - timedelta(minutes=n + 1)).isoformat(),
                    "device": f"scanner {n}",
                },
            }
        )
    plan = {"point_id": bag.point.id, "code_id": bag.code.id}
    db.session.commit()

    def sync(device: dict) -> str:
        response = requests.post(
            f"{live_server.url}/api/v1/pickup/sync",
            json={"pickup_point_id": plan["point_id"], "redemptions": [device["item"]]},
            headers=device["headers"],
            timeout=120,
        )
        assert response.status_code == 200, response.text[:300]
        return response.json()["results"][0]["outcome"]

    outcomes = Counter(_all_at_once(sync, devices))
    assert outcomes == {"redeemed": 1, "conflict": DEVICES - 1}
    # Every device resends at once (none saw its answer): the same answers, nothing new stored.
    again = Counter(_all_at_once(sync, devices))
    assert again == outcomes
    assert _scalar(select(PickupCode.status).where(PickupCode.id == plan["code_id"])) == "redeemed"
    assert _scalar(select(func.count()).select_from(Redemption).where(Redemption.outcome == "redeemed")) == 1
    assert _scalar(select(func.count()).select_from(Redemption)) == DEVICES
    assert _scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "redeem")) == 1
    conflicts = select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "offline_conflict")
    assert _scalar(conflicts) == DEVICES - 1
    alerts = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "offline_conflict")
    assert _scalar(alerts) == DEVICES - 1
