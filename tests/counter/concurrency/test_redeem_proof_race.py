"""Hand-overs racing without the code, or under one key for two codes, against a real server and
database (issue 14, items 4 and 5): a stolen staff token counting ids gets no bag, and a key
reused for another code never answers with the first one's result."""

import uuid
from collections import Counter

import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditRecord, PickupCode, Redemption
from app.services.accounts import tokens
from tests.counter.concurrency.test_redeem_once import _all_at_once, _scalar
from tests.support.pickup import Bags

CLIENTS = 20


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order)


def _shelf(bags, count: int) -> list:
    first = bags.make()
    return [first] + [bags.make(point=first.point, staff=first.staff, window=first.window) for _ in range(count - 1)]


def _redeemed() -> int:
    return _scalar(select(func.count()).select_from(PickupCode).where(PickupCode.status == "redeemed"))


def test_a_stolen_token_counting_ids_at_once_hands_nothing_over(live_server, bags):
    shelf = _shelf(bags, CLIENTS)
    point_id = shelf[0].point.id
    auth = {"Authorization": f"Bearer {tokens.create_token(shelf[0].staff, 'stolen')[1]}"}
    # Every bag by its id, all at once: half with no proof, half with a guessed code.
    bodies = [
        {
            "pickup_point_id": point_id,
            "code_id": bag.code.id,
            "idempotency_key": uuid.uuid4().hex,
            **({"code": "0000 0000" if bag.code.code != "00000000" else "0000 0001"} if n % 2 else {}),
        }
        for n, bag in enumerate(shelf)
    ]
    right_code = {"pickup_point_id": point_id, "code": shelf[0].code.code}
    db.session.commit()

    def post(body: dict) -> int:
        return requests.post(
            f"{live_server.url}/api/v1/pickup/redeem", json=body, headers=auth, timeout=120
        ).status_code

    statuses = Counter(_all_at_once(post, bodies))
    assert set(statuses) <= {404, 422, 429} and 200 not in statuses
    assert _redeemed() == 0
    assert _scalar(select(func.count()).select_from(Redemption)) == 0
    refused = select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "redeem_refused")
    assert _scalar(refused) == CLIENTS  # every attempt is on the record
    # The token is now locked out of code entry, the right code included.
    locked = requests.post(f"{live_server.url}/api/v1/pickup/preview", json=right_code, headers=auth, timeout=60)
    assert locked.status_code == 429


def test_counting_ids_with_the_right_codes_while_locked_gets_nothing(live_server, bags):
    shelf = _shelf(bags, CLIENTS)
    point_id = shelf[0].point.id
    auth = {"Authorization": f"Bearer {tokens.create_token(shelf[0].staff, 'stolen')[1]}"}
    bodies = [
        {
            "pickup_point_id": point_id,
            "code_id": bag.code.id,
            "code": bag.code.code,
            "idempotency_key": uuid.uuid4().hex,
        }
        for bag in shelf
    ]
    db.session.commit()
    guess = {"pickup_point_id": point_id, "code": "9999 9999"}
    for _ in range(5):
        requests.post(f"{live_server.url}/api/v1/pickup/preview", json=guess, headers=auth, timeout=60)

    def post(body: dict) -> tuple[int, str]:
        response = requests.post(f"{live_server.url}/api/v1/pickup/redeem", json=body, headers=auth, timeout=120)
        return response.status_code, response.json()["error"]["code"]

    assert Counter(_all_at_once(post, bodies)) == {(429, "code_entry_locked"): CLIENTS}
    assert _redeemed() == 0


def test_one_key_raced_for_two_codes_hands_over_one_and_refuses_the_other(live_server, bags):
    first, second = _shelf(bags, 2)
    auth = {"Authorization": f"Bearer {tokens.create_token(first.staff, 'scanner')[1]}"}
    key = uuid.uuid4().hex
    bodies = [
        {"pickup_point_id": bag.point.id, "code_id": bag.code.id, "code": bag.code.code, "idempotency_key": key}
        for bag in (first, second) * (CLIENTS // 2)
    ]
    db.session.commit()

    def post(body: dict) -> tuple[int, int, str]:
        response = requests.post(f"{live_server.url}/api/v1/pickup/redeem", json=body, headers=auth, timeout=120)
        return body["code_id"], response.status_code, response.text

    answers = _all_at_once(post, bodies)
    assert _redeemed() == 1
    assert _scalar(select(func.count()).select_from(Redemption)) == 1
    winner = _scalar(select(PickupCode.id).where(PickupCode.status == "redeemed"))
    won = {(status, text) for code_id, status, text in answers if code_id == winner}
    lost = [(status, text) for code_id, status, text in answers if code_id != winner]
    assert len(won) == 1 and next(iter(won))[0] == 200  # every request for the winner: the same answer
    assert len(lost) == CLIENTS // 2
    assert all(status == 422 and "idempotency_key_reused" in text for status, text in lost)
