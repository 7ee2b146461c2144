"""A customer who lost the code (issue #16): staff find their bags by the phone's last four
digits — only bags waiting at this point — and hand over the ticked ones in one confirm, each
through the exactly-once redeem; a tail that finds nothing counts towards the code-entry lock."""

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditRecord, CodeEntryFailure, Order, PickupCode, Redemption
from tests.support.forms import csrf_from
from tests.support.pickup import Bags


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order)


def find(client, point_id, tail):
    token = csrf_from(client.get("/pickup/").get_data(as_text=True))
    return client.post("/pickup/phone", data={"point_id": point_id, "tail": tail, "csrf_token": token})


def ticked(html: str) -> dict:
    """The hand-over form as the browser would send it, every bag ticked."""
    form = re.search(r'data-testid="bags-form".*?</form>', html, re.S).group(0)
    data = {"csrf_token": csrf_from(html), "point_id": re.search(r'name="point_id" value="(\d+)"', form).group(1)}
    data["bag"] = re.findall(r'name="bag" value="([^"]+)"', form)
    data.update(dict(re.findall(r'name="(token-\d+)" value="([^"]+)"', form)))
    return data


def test_two_bags_of_one_phone_are_found_and_handed_over_in_one_confirm(client, login, bags):
    first = bags.make(name="李小龙", phone="13712345678")
    second = bags.make(point=first.point, staff=first.staff, name="李小龙", phone="13712345678")
    other = bags.make(point=first.point, staff=first.staff, phone="13799990000")
    login(first.staff)
    response = find(client, first.point.id, "5678")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'data-testid="bag-{first.code.id}"' in html and f'data-testid="bag-{second.code.id}"' in html
    assert f'data-testid="bag-{other.code.id}"' not in html
    assert "李**" in html and "13712345678" not in html and "李小龙" not in html
    assert first.code.code not in html  # the code itself never shows
    data = ticked(html)
    done = client.post("/pickup/redeem-many", data=data)
    page = done.get_data(as_text=True)
    assert done.status_code == 200
    assert f'data-testid="result-ok-{first.code.id}"' in page and f'data-testid="result-ok-{second.code.id}"' in page
    statuses = {db.session.get(Order, b.order.id, populate_existing=True).status for b in (first, second)}
    assert statuses == {"completed"}
    assert db.session.get(Order, other.order.id, populate_existing=True).status == "ready_for_pickup"
    # A double tap: the same keys answer as replays, nothing is handed over twice.
    again = client.post("/pickup/redeem-many", data=data)
    assert again.status_code == 200
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 2


def test_only_the_ticked_bags_are_handed_over(client, login, bags):
    first = bags.make(phone="13712345678")
    second = bags.make(point=first.point, staff=first.staff, phone="13712345678")
    login(first.staff)
    data = ticked(find(client, first.point.id, "5678").get_data(as_text=True))
    data["bag"] = [value for value in data["bag"] if value.startswith(f"{second.code.id}:")]
    assert client.post("/pickup/redeem-many", data=data).status_code == 200
    assert db.session.get(Order, first.order.id, populate_existing=True).status == "ready_for_pickup"
    assert db.session.get(Order, second.order.id, populate_existing=True).status == "completed"


def test_bags_at_another_point_or_not_yet_arrived_are_not_shown(client, login, bags):
    here = bags.make(phone="13712345678")
    elsewhere = bags.make(phone="13712345678")  # another point, other staff
    coming = bags.make(point=here.point, staff=here.staff, status="confirmed", phone="13712345678")
    login(here.staff)
    html = find(client, here.point.id, "5678").get_data(as_text=True)
    assert f'data-testid="bag-{here.code.id}"' in html
    assert f"bag-{elsewhere.code.id}" not in html and f"bag-{coming.code.id}" not in html


def test_a_tail_that_finds_nothing_counts_as_a_wrong_code_and_is_audited(client, login, bags):
    bag = bags.make(phone="13712345678")
    login(bag.staff)
    response = find(client, bag.point.id, "0000")
    assert response.status_code == 404 and 'data-testid="result-bad"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(CodeEntryFailure)) == 1
    actions = db.session.scalars(select(AuditRecord.action).where(AuditRecord.action == "phone_lookup")).all()
    assert actions == ["phone_lookup"]
    find(client, bag.point.id, "5678")
    assert (
        db.session.scalars(select(AuditRecord.detail).where(AuditRecord.action == "phone_lookup")).all()[-1]["outcome"]
        == "found"
    )


@pytest.mark.parametrize("tail", ["", "567", "56789", "abcd", "56 8", "5678\x00", "<sc>"])
def test_a_malformed_tail_is_refused_and_changes_nothing(client, login, bags, tail):
    bag = bags.make(phone="13712345678")
    login(bag.staff)
    response = find(client, bag.point.id, tail)
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(CodeEntryFailure)) == 0


def test_someone_elses_point_is_refused(client, login, bags, make_user):
    bag = bags.make(phone="13712345678")
    stranger = make_user("别家店员")
    bags.make(staff=stranger)
    login(stranger)
    response = find(client, bag.point.id, "5678")
    # Another point's bags are not there for this user at all: the same answer as a missing point.
    assert response.status_code == 404 and f"bag-{bag.code.id}" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "bad",
    [
        {"bag": []},
        {"bag": ["not-a-bag"]},
        {"bag": ["1:short"]},
        {"bag": [f"{n}:{'k' * 32}" for n in range(1, 20)]},
        {"point_id": "x" * 30},
    ],
)
def test_a_hand_over_form_that_is_missing_or_malformed_changes_nothing(client, login, bags, bad):
    bag = bags.make(phone="13712345678")
    login(bag.staff)
    data = {**ticked(find(client, bag.point.id, "5678").get_data(as_text=True)), **bad}
    response = client.post("/pickup/redeem-many", data=data)
    assert response.status_code in (403, 404, 422)
    assert db.session.get(PickupCode, bag.code.id, populate_existing=True).status == "issued"


def test_a_hand_over_without_the_bags_proof_is_refused(client, login, bags):
    bag = bags.make(phone="13712345678")
    login(bag.staff)
    data = ticked(find(client, bag.point.id, "5678").get_data(as_text=True))
    data[f"token-{bag.code.id}"] = "forged"
    response = client.post("/pickup/redeem-many", data=data)
    assert response.status_code >= 400 and f'data-testid="result-bad-{bag.code.id}"' in response.get_data(as_text=True)
    assert db.session.get(PickupCode, bag.code.id, populate_existing=True).status == "issued"


def test_the_confirm_button_hands_over_and_says_so(client, login, bags):
    bag = bags.make(phone="13712345678")
    login(bag.staff)
    html = find(client, bag.point.id, "5678").get_data(as_text=True)
    assert re.search(r'data-testid="confirm-many">Hand over<', html)
