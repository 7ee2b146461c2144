"""Who a wrong code locks out, over HTTP: re-scanning collected bags never counts (issue 14, item 6),
one person's wrong codes never close the counter for colleagues, and the point's leader can lift
a lock on everyone, audited (item 7)."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditRecord, PickupStaff, User
from app.services.accounts import tokens
from tests.support.forms import csrf_from
from tests.support.pickup import Bags, confirm_fields

PREVIEW = "/api/v1/pickup/preview"


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order)


def bearer(user, device):
    return {"Authorization": f"Bearer {tokens.create_token(user, 'scanner')[1]}", "X-Device-Id": device}


def look_up(client, code, point_id, token):
    return client.post("/pickup/preview", data={"code": code, "point_id": point_id, "csrf_token": token})


def wrong_digits(bag) -> str:
    return "00000000" if bag.code.code != "00000000" else "00000001"


def colleague_of(bag, make_user, name):
    user = make_user(name)
    db.session.add(PickupStaff(pickup_point_id=bag.point.id, user_id=user.id))
    db.session.commit()
    return user


def api_look_up(client, bag, auth, code):
    return client.post(PREVIEW, json={"pickup_point_id": bag.point.id, "code": code}, headers=auth)


# ---- item 6: re-scans are not guesses


def test_rescanning_collected_bags_never_uses_up_the_counter_rate_limit(app, client, login, bags):
    app.config["CODE_ENTRY_RATE_LIMIT"] = "3 per 5 minutes"
    bag = bags.make()
    login(bag.staff)
    token = csrf_from(client.get("/pickup/").get_data(as_text=True))
    html = look_up(client, bag.code.code, bag.point.id, token).get_data(as_text=True)
    confirm = {"point_id": bag.point.id, "code_id": bag.code.id, **confirm_fields(html)}
    assert client.post("/pickup/redeem", data=confirm).status_code == 200
    rescans = [look_up(client, bag.code.code, bag.point.id, token).status_code for _ in range(6)]
    assert rescans == [409] * 6
    # A stale confirm refused as already redeemed, and mistyped lengths, are not guesses either.
    assert [look_up(client, "12", bag.point.id, token).status_code for _ in range(4)] == [422] * 4
    other = bags.make(point=bag.point, staff=bag.staff)
    assert look_up(client, other.code.code, bag.point.id, token).status_code == 200


def test_rescanning_collected_bags_never_uses_up_the_api_rate_limit(app, client, login, bags):
    app.config["CODE_ENTRY_RATE_LIMIT"] = "3 per 5 minutes"
    bag = bags.make()
    login(bag.staff)  # handed over at the counter...
    token = csrf_from(client.get("/pickup/").get_data(as_text=True))
    html = look_up(client, bag.code.code, bag.point.id, token).get_data(as_text=True)
    confirm = {"point_id": bag.point.id, "code_id": bag.code.id, **confirm_fields(html)}
    assert client.post("/pickup/redeem", data=confirm).status_code == 200
    auth = bearer(bag.staff, "scanner-device-0001")  # ...then scanned again and again on a phone
    rescans = [api_look_up(client, bag, auth, bag.code.code).status_code for _ in range(8)]
    assert rescans == [409] * 8
    # Wrong codes still count: three, then the limit answers.
    wrong = [api_look_up(client, bag, auth, wrong_digits(bag)).status_code for _ in range(4)]
    assert wrong == [404, 404, 404, 429]


# ---- item 7: one person cannot close the counter; the leader can lift a lock


def test_one_staff_members_wrong_codes_do_not_close_the_point_for_colleagues(client, bags, make_user):
    bag = bags.make()
    colleague = colleague_of(bag, make_user, "同事")
    guesser = bearer(bag.staff, "scanner-device-0001")
    answers = [api_look_up(client, bag, guesser, wrong_digits(bag)).status_code for _ in range(12)]
    assert answers == [404] * 5 + [429] * 7  # the guesser is locked...
    found = api_look_up(client, bag, bearer(colleague, "scanner-device-0002"), bag.code.code)
    assert found.status_code == 200  # ...the colleague at the same point is not


def test_one_person_at_a_shared_counter_pc_does_not_lock_the_pc_for_the_next_person(client, login, bags, make_user):
    bag = bags.make()
    colleague = colleague_of(bag, make_user, "同事")
    login(bag.staff)
    token = csrf_from(client.get("/pickup/").get_data(as_text=True))
    answers = [look_up(client, wrong_digits(bag), bag.point.id, token).status_code for _ in range(7)]
    assert answers == [404] * 5 + [429] * 2
    client.post("/logout", data={"csrf_token": token})
    login(colleague)  # same browser, same counter_device cookie
    token = csrf_from(client.get("/pickup/").get_data(as_text=True))
    assert look_up(client, bag.code.code, bag.point.id, token).status_code == 200


def lock_point(client, bag, make_user):
    """Two staff members' wrong codes: the point is locked for everyone."""
    second = colleague_of(bag, make_user, "同事")
    for user, device in ((bag.staff, "scanner-device-0001"), (second, "scanner-device-0002")):
        auth = bearer(user, device)
        assert [api_look_up(client, bag, auth, wrong_digits(bag)).status_code for _ in range(5)] == [404] * 5
    third = colleague_of(bag, make_user, "同事二")
    third_auth = bearer(third, "scanner-device-0003")
    locked = api_look_up(client, bag, third_auth, bag.code.code)
    assert locked.status_code == 429 and locked.get_json()["error"]["scope"] == "point"
    return third_auth


def test_leader_lifts_a_point_lock_from_the_overview_and_the_guessers_stay_locked(client, login, bags, make_user):
    bag = bags.make()
    third_auth = lock_point(client, bag, make_user)
    leader = db.session.get(User, bag.leader.user_id)
    login(leader)
    page = client.get(f"/leader/pickup/{bag.point.id}").get_data(as_text=True)
    assert 'data-testid="code-lock"' in page
    response = client.post(f"/leader/pickup/{bag.point.id}/code-lock/lift", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    page = client.get(f"/leader/pickup/{bag.point.id}").get_data(as_text=True)
    assert 'data-testid="code-lock"' not in page
    record = db.session.scalar(select(AuditRecord).where(AuditRecord.action == "code_lock_lifted"))
    assert record.actor == f"user:{leader.id}" and record.object_id == bag.point.id
    assert api_look_up(client, bag, third_auth, bag.code.code).status_code == 200
    still = api_look_up(client, bag, bearer(bag.staff, "scanner-device-0009"), bag.code.code)
    assert still.status_code == 429 and still.get_json()["error"]["scope"] == "person"


def test_leader_lifts_a_point_lock_by_api_and_nobody_else_can(client, bags, make_user, make_leader, make_point):
    bag = bags.make()
    third_auth = lock_point(client, bag, make_user)
    url = f"/api/v1/pickup/points/{bag.point.id}/code-lock/lift"
    assert client.post(url, headers=third_auth).status_code == 403  # staff are not leaders
    stranger = make_leader()
    make_point(stranger)
    stranger_auth = bearer(db.session.get(User, stranger.user_id), "scanner-device-0004")
    assert client.post(url, headers=stranger_auth).status_code == 404
    assert api_look_up(client, bag, third_auth, bag.code.code).status_code == 429
    leader_auth = bearer(db.session.get(User, bag.leader.user_id), "scanner-device-0005")
    lifted = client.post(url, headers=leader_auth)
    assert lifted.status_code == 200 and lifted.get_json()["pickup_point_id"] == bag.point.id
    assert api_look_up(client, bag, third_auth, bag.code.code).status_code == 200
    again = client.post(url, headers=leader_auth)
    assert again.status_code == 409
    assert len(db.session.scalars(select(AuditRecord).where(AuditRecord.action == "code_lock_lifted")).all()) == 1


def test_the_counter_page_offers_the_leader_a_lift_button_on_a_point_lock(client, login, bags, make_user):
    bag = bags.make()
    lock_point(client, bag, make_user)
    leader = db.session.get(User, bag.leader.user_id)
    login(leader)
    token = csrf_from(client.get("/pickup/").get_data(as_text=True))
    locked = look_up(client, bag.code.code, bag.point.id, token)
    html = locked.get_data(as_text=True)
    assert locked.status_code == 429 and 'data-testid="lift-lock"' in html
    lifted = client.post(
        f"/leader/pickup/{bag.point.id}/code-lock/lift", data={"csrf_token": csrf_from(html), "back": "counter"}
    )
    assert lifted.status_code == 302 and lifted.headers["Location"].endswith("/pickup/")
    assert look_up(client, bag.code.code, bag.point.id, token).status_code == 200


def test_staff_see_no_lift_button_and_cannot_post_one(client, login, bags, make_user):
    bag = bags.make()
    lock_point(client, bag, make_user)
    login(bag.staff)
    token = csrf_from(client.get("/pickup/").get_data(as_text=True))
    html = look_up(client, bag.code.code, bag.point.id, token).get_data(as_text=True)
    assert 'data-testid="lift-lock"' not in html
    response = client.post(f"/leader/pickup/{bag.point.id}/code-lock/lift", data={"csrf_token": token})
    assert response.status_code == 403
    assert db.session.scalar(select(AuditRecord).where(AuditRecord.action == "code_lock_lifted")) is None
