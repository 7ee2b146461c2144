"""A hand-over must prove it knows the code (issue 14, item 4), and an idempotency key answers
only the request it was first used for (item 5): over HTTP, through the API and the counter forms."""

import uuid

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditRecord, PickupCode, PickupStaff, Redemption
from app.services.accounts import tokens
from app.services.pickup import codes
from tests.support.forms import csrf_from
from tests.support.pickup import Bags, confirm_fields, items_of

REDEEM = "/api/v1/pickup/redeem"
PREVIEW = "/api/v1/pickup/preview"
SYNC = "/api/v1/pickup/sync"


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order)


def bearer(user, device="scanner-device-0001"):
    return {"Authorization": f"Bearer {tokens.create_token(user, 'scanner')[1]}", "X-Device-Id": device}


def status_of(code: PickupCode) -> str:
    return db.session.get(PickupCode, code.id, populate_existing=True).status


def refusals() -> list[str]:
    rows = db.session.scalars(
        select(AuditRecord).where(AuditRecord.action == "redeem_refused").order_by(AuditRecord.id)
    ).all()
    return [row.detail["outcome"] for row in rows]


def redeem(client, bag, auth, key=None, **proof):
    body = {"pickup_point_id": bag.point.id, "code_id": bag.code.id, "idempotency_key": key or uuid.uuid4().hex}
    return client.post(REDEEM, json={**body, **proof}, headers=auth)


def wrong_digits(bag) -> str:
    return "00000000" if bag.code.code != "00000000" else "00000001"


# ---- item 4: proof of the code


def test_api_redeem_by_code_id_alone_is_refused_audited_and_changes_nothing(client, bags):
    bag = bags.make()
    response = redeem(client, bag, bearer(bag.staff))
    assert response.status_code == 422
    assert "code" in response.get_json()["error"]["fields"]
    assert status_of(bag.code) == "issued"
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 0
    assert refusals() == ["no_proof"]


def test_api_redeem_with_another_bags_code_is_refused_and_hands_nothing_over(client, bags):
    bag = bags.make()
    other = bags.make(point=bag.point, staff=bag.staff)
    auth = bearer(bag.staff)
    for proof in (other.code.code, codes.qr_text(other.code), wrong_digits(bag), "12"):
        response = redeem(client, bag, auth, code=proof)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "invalid_code"
    forged = redeem(client, bag, auth, code=codes.qr_text(bag.code)[:-4] + "AAAA")
    assert forged.status_code == 400 and forged.get_json()["error"]["code"] == "bad_signature"
    assert status_of(bag.code) == status_of(other.code) == "issued"
    assert refusals() == ["wrong_proof"] * 4 + ["bad_signature"]


def test_counting_code_ids_with_a_staff_token_hands_nothing_over_and_locks_the_token(client, bags):
    first = bags.make()
    shelf = [first] + [bags.make(point=first.point, staff=first.staff) for _ in range(7)]
    auth = bearer(first.staff)
    answers = [redeem(client, bag, auth, code=wrong_digits(bag)).status_code for bag in shelf]
    # Five wrong proofs lock the user; after that even the right code is refused.
    assert answers == [404] * 5 + [429] * 3
    assert redeem(client, shelf[-1], auth, code=shelf[-1].code.code).status_code == 429
    assert {status_of(bag.code) for bag in shelf} == {"issued"}
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 0


def test_redeem_is_refused_while_code_entry_is_locked_even_with_the_right_code(client, bags, frozen_clock):
    bag = bags.make()
    auth = bearer(bag.staff)
    for _ in range(5):
        wrong = client.post(PREVIEW, json={"pickup_point_id": bag.point.id, "code": wrong_digits(bag)}, headers=auth)
        assert wrong.status_code == 404
    locked = redeem(client, bag, auth, code=bag.code.code)
    assert locked.status_code == 429 and locked.get_json()["error"]["code"] == "code_entry_locked"
    assert status_of(bag.code) == "issued"
    assert refusals() == ["code_entry_locked"]
    frozen_clock.advance(minutes=11)
    assert redeem(client, bag, auth, code=bag.code.code).status_code == 200


def test_preview_token_proves_only_its_own_request(client, bags, make_user):
    bag = bags.make()
    other = bags.make(point=bag.point, staff=bag.staff)
    auth = bearer(bag.staff)
    body = client.post(PREVIEW, json={"pickup_point_id": bag.point.id, "code": bag.code.code}, headers=auth).get_json()
    token, key = body["redeem_token"], body["idempotency_key"]
    assert bag.code.code not in token
    # Another code, another key, another user or a tampered token: refused, counted.
    assert redeem(client, other, auth, key, redeem_token=token).status_code == 404
    assert redeem(client, bag, auth, uuid.uuid4().hex, redeem_token=token).status_code == 404
    assert redeem(client, bag, auth, key, redeem_token=token[:-2] + "xx").status_code == 404
    colleague = make_user("同事")
    db.session.add(PickupStaff(pickup_point_id=bag.point.id, user_id=colleague.id))
    db.session.commit()
    assert redeem(client, bag, bearer(colleague, "scanner-device-0002"), key, redeem_token=token).status_code == 404
    assert status_of(bag.code) == status_of(other.code) == "issued"
    assert refusals() == ["wrong_proof"] * 4
    done = redeem(client, bag, auth, key, redeem_token=token)
    assert done.status_code == 200 and done.get_json()["order_id"] == bag.order.id


def test_an_expired_preview_token_asks_for_a_new_look_up_and_does_not_count(client, bags, frozen_clock):
    bag = bags.make()
    auth = bearer(bag.staff)
    token_of = []
    for _ in range(6):
        body = client.post(PREVIEW, json={"pickup_point_id": bag.point.id, "code": bag.code.code}, headers=auth)
        token_of.append(body.get_json())
    frozen_clock.advance(minutes=11)
    for preview in token_of:
        late = redeem(client, bag, auth, preview["idempotency_key"], redeem_token=preview["redeem_token"])
        assert late.status_code == 409 and late.get_json()["error"]["code"] == "preview_expired"
    assert status_of(bag.code) == "issued"
    # Six slow confirms are not six guesses: code entry stays open.
    assert redeem(client, bag, auth, code=codes.qr_text(bag.code)).status_code == 200


def test_counter_confirm_without_its_token_or_for_another_bag_is_refused(client, login, bags):
    bag = bags.make()
    other = bags.make(point=bag.point, staff=bag.staff)
    login(bag.staff)
    token = csrf_from(client.get("/pickup/").get_data(as_text=True))
    html = client.post(
        "/pickup/preview", data={"code": bag.code.code, "point_id": bag.point.id, "csrf_token": token}
    ).get_data(as_text=True)
    confirm = confirm_fields(html)
    bare = client.post(
        "/pickup/redeem",
        data={"point_id": bag.point.id, "code_id": bag.code.id, **confirm, "redeem_token": ""},
    )
    assert bare.status_code == 422 and 'data-error-code="validation_failed"' in bare.get_data(as_text=True)
    counted = client.post("/pickup/redeem", data={"point_id": bag.point.id, "code_id": other.code.id, **confirm})
    assert counted.status_code == 404 and 'data-error-code="invalid_code"' in counted.get_data(as_text=True)
    assert status_of(bag.code) == status_of(other.code) == "issued"
    assert refusals() == ["no_proof", "wrong_proof"]
    ok = client.post("/pickup/redeem", data={"point_id": bag.point.id, "code_id": bag.code.id, **confirm})
    assert ok.status_code == 200 and status_of(bag.code) == "redeemed" and status_of(other.code) == "issued"


def test_openapi_documents_the_proof_of_the_code(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    text = str(spec["paths"][REDEEM]) + str(spec.get("components", {}))
    assert "redeem_token" in text and "idempotency_key_reused" in str(spec["paths"][REDEEM])
    assert "/api/v1/pickup/points/{point_id}/code-lock/lift" in spec["paths"]


# ---- item 5: a key answers only the request it was first used for


def test_key_reused_for_another_code_is_422_and_changes_nothing(client, bags):
    first = bags.make()
    second = bags.make(point=first.point, staff=first.staff)
    auth = bearer(first.staff)
    key = uuid.uuid4().hex
    done = redeem(client, first, auth, key, code=first.code.code)
    assert done.status_code == 200
    reused = redeem(client, second, auth, key, code=second.code.code)
    assert reused.status_code == 422
    assert reused.get_json()["error"]["code"] == "idempotency_key_reused"
    assert status_of(second.code) == "issued"
    # The same request replayed still gets the first answer.
    assert redeem(client, first, auth, key, code=first.code.code).get_json() == done.get_json()
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 1


def test_key_reused_with_other_lines_or_for_a_refused_code_is_422(client, bags):
    bag = bags.make(quantities=(3, 2))
    first, second = items_of(bag.order)
    waiting = bags.make(point=bag.point, staff=bag.staff, status="confirmed")
    auth = bearer(bag.staff)
    key = uuid.uuid4().hex
    assert redeem(client, bag, auth, key, code=bag.code.code, lines={str(first.id): 1}).status_code == 200
    for lines in ({str(first.id): 2}, {str(second.id): 1}, None):
        again = redeem(client, bag, auth, key, code=bag.code.code, lines=lines)
        assert again.status_code == 422 and again.get_json()["error"]["code"] == "idempotency_key_reused"
    assert [item.redeemed_qty for item in items_of(bag.order)] == [1, 0]
    refused_key = uuid.uuid4().hex
    assert redeem(client, waiting, auth, refused_key, code=waiting.code.code).status_code == 409
    reused = redeem(client, bag, auth, refused_key, code=bag.code.code)
    assert reused.status_code == 422 and [item.redeemed_qty for item in items_of(bag.order)] == [1, 0]


def test_counter_partial_form_sent_after_the_big_button_with_the_same_key_is_refused(client, login, bags):
    bag = bags.make(quantities=(3,))
    item = items_of(bag.order)[0]
    login(bag.staff)
    token = csrf_from(client.get("/pickup/").get_data(as_text=True))
    html = client.post(
        "/pickup/preview", data={"code": bag.code.code, "point_id": bag.point.id, "csrf_token": token}
    ).get_data(as_text=True)
    form = {"point_id": bag.point.id, "code_id": bag.code.id, **confirm_fields(html)}
    assert client.post("/pickup/redeem", data=form).status_code == 200
    partial = client.post("/pickup/redeem", data={**form, "take": "some", f"qty-{item.id}": "1"})
    assert partial.status_code == 422
    assert 'data-error-code="idempotency_key_reused"' in partial.get_data(as_text=True)
    assert client.post("/pickup/redeem", data=form).status_code == 200  # the double tap still replays


def test_sync_item_reusing_a_key_for_another_code_is_refused_and_its_replay_still_works(
    client, login, bags, frozen_clock
):
    bag = bags.make()
    other = bags.make(point=bag.point, staff=bag.staff)
    login(bag.staff)
    headers = {"X-CSRFToken": csrf_from(client.get("/pickup/").get_data(as_text=True))}
    item = {"idempotency_key": uuid.uuid4().hex, "offline_at": "2026-11-22T01:58:00Z", "device": "scanner a"}

    def sync(code_text):
        body = {"pickup_point_id": bag.point.id, "redemptions": [{**item, "code": code_text}]}
        return client.post(SYNC, json=body, headers=headers).get_json()["results"][0]

    assert sync(bag.code.code)["outcome"] == "redeemed"
    reused = sync(other.code.code)
    assert reused["outcome"] == "refused" and reused["error"]["code"] == "idempotency_key_reused"
    assert sync(codes.qr_text(bag.code))["outcome"] == "redeemed"  # the same bag, scanned: a replay
    assert status_of(other.code) == "issued"
