"""Many counters, one bag: a code is redeemed at most once (DESIGN.md §4.3), and a replayed
request with the same idempotency key gets the first answer, against a real server and database.
"""

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditRecord, Order, PickupCode, PickupStaff, Redemption
from app.services.accounts import tokens
from tests.conftest import PASSWORD
from tests.support.forms import csrf_from, logged_in_session
from tests.support.pickup import Bags

CLIENTS = 20


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order)


def _scalar(stmt):
    # End any transaction first: on SQLite a deferred one would keep reading its old snapshot.
    db.session.rollback()
    return db.session.scalar(stmt)


def _all_at_once(fn, args: list) -> list:
    """Run fn(arg) in CLIENTS threads released together by a barrier."""
    barrier = threading.Barrier(len(args))

    def run(arg):
        barrier.wait(timeout=60)
        return fn(arg)

    with ThreadPoolExecutor(max_workers=len(args)) as pool:
        return list(pool.map(run, args))


def _outcome(response: requests.Response) -> str:
    body = response.json()
    return body.get("outcome") or body["error"]["code"]


def test_twenty_counters_redeeming_one_code_hand_it_over_once(live_server, bags, make_user):
    bag = bags.make()
    # Twenty staff of the point, each with their own scanner token: real parallel requests.
    headers = []
    for n in range(CLIENTS):
        clerk = make_user(f"店员{n}")
        db.session.add(PickupStaff(pickup_point_id=bag.point.id, user_id=clerk.id))
        db.session.commit()
        headers.append({"Authorization": f"Bearer {tokens.create_token(clerk, 'scanner')[1]}"})
    plan = {"point_id": bag.point.id, "code_id": bag.code.id, "code": bag.code.code, "order_id": bag.order.id}
    db.session.commit()  # no open transaction: on SQLite it would hold the write lock

    def redeem(auth: dict) -> tuple[int, str]:
        response = requests.post(
            f"{live_server.url}/api/v1/pickup/redeem",
            json={
                "pickup_point_id": plan["point_id"],
                "code_id": plan["code_id"],
                "code": plan["code"],
                "idempotency_key": uuid.uuid4().hex,
            },
            headers=auth,
            timeout=120,
        )
        return response.status_code, _outcome(response)

    outcomes = Counter(_all_at_once(redeem, headers))
    assert outcomes == {(200, "redeemed"): 1, (409, "already_redeemed"): CLIENTS - 1}
    assert _scalar(select(PickupCode.status).where(PickupCode.id == plan["code_id"])) == "redeemed"
    assert _scalar(select(Order.status).where(Order.id == plan["order_id"])) == "completed"
    assert _scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "redeem")) == 1
    assert _scalar(select(func.count()).select_from(Redemption).where(Redemption.outcome == "redeemed")) == 1
    assert _scalar(select(func.count()).select_from(Redemption)) == CLIENTS


def _logged_in_session(base_url: str, phone: str) -> requests.Session:
    session = logged_in_session(base_url, phone, PASSWORD)
    session.headers["X-CSRFToken"] = csrf_from(session.get(f"{base_url}/pickup/", timeout=30).text)
    return session


def test_twenty_replays_of_one_request_all_get_the_first_answer(live_server, bags):
    bag = bags.make()
    plan = {"point_id": bag.point.id, "code_id": bag.code.id, "code": bag.code.code, "phone": bag.staff.phone}
    db.session.commit()
    # One staff member's browser session, replayed from twenty connections (a scanner retrying).
    logged_in = _logged_in_session(live_server.url, plan["phone"])
    sessions = []
    for _ in range(CLIENTS):
        session = requests.Session()
        session.cookies.update(logged_in.cookies)
        session.headers.update(logged_in.headers)
        sessions.append(session)
    body = {
        "pickup_point_id": plan["point_id"],
        "code_id": plan["code_id"],
        "code": plan["code"],
        "idempotency_key": uuid.uuid4().hex,
    }

    def replay(session: requests.Session) -> tuple[int, str]:
        response = session.post(f"{live_server.url}/api/v1/pickup/redeem", json=body, timeout=120)
        return response.status_code, response.text

    answers = _all_at_once(replay, sessions)
    assert {status for status, _ in answers} == {200}
    assert len({text for _, text in answers}) == 1
    assert '"outcome":"redeemed"' in answers[0][1].replace(" ", "")
    assert _scalar(select(func.count()).select_from(Redemption)) == 1
    assert _scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "redeem")) == 1
    assert _scalar(select(PickupCode.status).where(PickupCode.id == plan["code_id"])) == "redeemed"


def test_twenty_replays_of_a_refusal_all_get_the_same_refusal(live_server, bags):
    bag = bags.make(status="confirmed")
    plan = {"point_id": bag.point.id, "code_id": bag.code.id, "code": bag.code.code}
    _token, plain = tokens.create_token(bag.staff, "scanner")
    db.session.commit()
    body = {
        "pickup_point_id": plan["point_id"],
        "code_id": plan["code_id"],
        "code": plan["code"],
        "idempotency_key": uuid.uuid4().hex,
    }

    def replay(_n: int) -> tuple[int, str]:
        response = requests.post(
            f"{live_server.url}/api/v1/pickup/redeem",
            json=body,
            headers={"Authorization": f"Bearer {plain}"},
            timeout=120,
        )
        return response.status_code, response.text

    answers = _all_at_once(replay, list(range(CLIENTS)))
    assert {status for status, _ in answers} == {409}
    assert len({text for _, text in answers}) == 1
    assert "not_arrived" in answers[0][1]
    assert _scalar(select(func.count()).select_from(Redemption)) == 1
