"""The installable app over HTTP: manifest, service worker, icons, the npm-served decoder, the
scanner page, and the offline manifest and sync endpoints with bad, missing and hostile input."""

import io
import json
import uuid
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.extensions import db
from app.models import PickupCode, Redemption
from app.services.core import clock
from app.services.pickup import codes
from tests.conftest import SECRET
from tests.support.code_leaks import as_keys, b64url, leaks, version_1_key
from tests.support.forms import csrf_from
from tests.support.pickup import Bags

SYNC = "/api/v1/pickup/sync"


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order)


def token_for(client) -> str:
    return csrf_from(client.get("/pickup/scan").get_data(as_text=True))


def item(code_text: str, **extra) -> dict:
    body = {
        "idempotency_key": uuid.uuid4().hex,
        "code": code_text,
        "offline_at": (clock.now() - timedelta(minutes=1)).isoformat(),
        "device": "scanner test",
    }
    return {**body, **extra}


def test_manifest_names_the_app_its_icons_and_the_scanner_shortcut(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200 and response.mimetype == "application/manifest+json"
    body = json.loads(response.get_data(as_text=True))
    assert body["display"] == "standalone" and body["scope"] == "/"
    assert {"192x192", "512x512"} <= {icon["sizes"] for icon in body["icons"]}
    assert any(icon["purpose"] == "maskable" for icon in body["icons"])
    assert "/pickup/scan" in [s["url"] for s in body["shortcuts"]]
    for icon in body["icons"]:
        image = Image.open(io.BytesIO(client.get(icon["src"]).data))
        assert f"{image.width}x{image.height}" == icon["sizes"]


def test_service_worker_is_served_at_the_root_and_precaches_the_scanner_shell(client):
    response = client.get("/sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    text = response.get_data(as_text=True)
    for path in ("/static/js/scanner/main.js", "/vendor/jsqr.js", "/offline"):
        assert f'"{path}"' in text
    for path in json.loads(text.split("const PRECACHE = ")[1].split(";\n")[0]):
        with client.get(path) as cached:
            assert cached.status_code == 200, path


def test_decoder_is_served_from_node_modules_and_nothing_else_is(client):
    with client.get("/vendor/jsqr.js") as decoder:
        assert decoder.status_code == 200 and b"jsQR" in decoder.data
    for name in ("../package.json", "jsqr", "%2e%2e%2fpackage.json", "index.js"):
        assert client.get(f"/vendor/{name}").status_code == 404
    assert client.get("/icons/64.png").status_code == 404


def test_scanner_page_is_for_staff_and_carries_its_points_and_strings(client, login, bags, make_user):
    bag = bags.make()
    assert client.get("/pickup/scan").status_code == 302
    html = login(bag.staff).get("/pickup/scan").get_data(as_text=True)
    assert "data-scanner" in html and "js/scanner/main.js" in html and 'rel="manifest"' in html
    assert bag.point.name in html and "/api/v1/pickup/points/{id}/manifest" in html
    login(make_user("路人"))
    assert client.get("/pickup/scan").status_code == 403


def test_manifest_endpoint_is_for_staff_and_other_points_answer_404_saying_so(client, login, bags):
    bag = bags.make()
    other = bags.make()
    login(bag.staff)
    response = client.get(f"/api/v1/pickup/points/{bag.point.id}/manifest")
    assert response.status_code == 200
    assert [o["order_id"] for o in response.get_json()["orders"]] == [bag.order.id]
    # A point of someone else and a point that does not exist answer alike, and say why.
    for point_id in (other.point.id, other.point.id + 1000):
        refused = client.get(f"/api/v1/pickup/points/{point_id}/manifest")
        assert refused.status_code == 404
        assert refused.get_json()["error"] == {
            "code": "not_your_pickup_point",
            "message": "You do not work at this pickup point.",
        }
    zh = client.get(f"/api/v1/pickup/points/{other.point.id}/manifest", headers={"Accept-Language": "zh-CN"})
    assert zh.get_json()["error"]["message"] == "您不在该自提点工作。"
    assert client.get("/api/v1/pickup/points/99999999999/manifest").status_code == 404


def test_sync_at_a_point_the_user_does_not_work_at_says_so_and_changes_nothing(client, login, bags):
    bag = bags.make()
    other = bags.make()
    login(bag.staff)
    body = {"pickup_point_id": other.point.id, "redemptions": [item(codes.qr_text(other.code))]}
    response = client.post(SYNC, json=body, headers={"X-CSRFToken": token_for(client)})
    assert response.status_code == 404
    assert response.get_json()["error"]["message"] == "You do not work at this pickup point."
    assert db.session.get(PickupCode, other.code.id, populate_existing=True).status == "issued"


def _names_and_texts(node, names: set, texts: list) -> None:
    if isinstance(node, dict):
        for name, value in node.items():
            names.add(name)
            _names_and_texts(value, names, texts)
    elif isinstance(node, list):
        for value in node:
            _names_and_texts(value, names, texts)
    elif isinstance(node, str):
        texts.append(node)


def test_manifest_served_holds_no_code_and_nothing_derived_from_one(client, login, bags):
    first = bags.make()
    second = bags.make(point=first.point, staff=first.staff)
    done = bags.make(point=first.point, staff=first.staff)
    collected = db.session.get(PickupCode, done.code.id)
    collected.status, collected.live_code = "redeemed", None
    collected.redeemed_at, collected.redeemed_by_id = clock.now(), first.staff.id
    db.session.commit()
    login(first.staff)
    response = client.get(f"/api/v1/pickup/points/{first.point.id}/manifest")
    text, body = response.get_data(as_text=True), response.get_json()
    assert {o["order_id"]: o["status"] for o in body["orders"]} == {
        first.order.id: "waiting",
        second.order.id: "waiting",
        done.order.id: "redeemed",
    }
    names, texts = set(), []
    _names_and_texts(body, names, texts)
    assert not names & {"h", "hash", "hmac", "digest", "key", "code", "codes", "qr", "salt"}
    today = clock.to_local(clock.now()).date()
    old_keys = [version_1_key(SECRET, first.point.id, (today + timedelta(days=d)).isoformat()) for d in (-1, 0, 1)]
    for old in old_keys:
        assert b64url(old) not in text and old.hex() not in text
    keys = [SECRET.encode(), *old_keys, *(key for t in texts for key in as_keys(t))]
    assert leaks(text, [first.code.code, second.code.code, done.code.code], keys) == []


def test_sync_redeems_and_a_replay_answers_the_same(client, login, bags):
    bag = bags.make()
    login(bag.staff)
    token = token_for(client)
    body = {"pickup_point_id": bag.point.id, "redemptions": [item(codes.qr_text(bag.code))]}
    first = client.post(SYNC, json=body, headers={"X-CSRFToken": token, "X-Device-Id": "pwa-0123456789ab"})
    assert first.status_code == 200 and first.get_json()["results"][0]["outcome"] == "redeemed"
    again = client.post(SYNC, json=body, headers={"X-CSRFToken": token})
    assert again.get_json()["results"][0]["outcome"] == "redeemed"
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 1
    assert db.session.get(PickupCode, bag.code.id, populate_existing=True).status == "redeemed"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"pickup_point_id": 1},
        {"pickup_point_id": 1, "redemptions": []},
        {"pickup_point_id": "x", "redemptions": [{"code": "1"}]},
        {"pickup_point_id": 1, "redemptions": [{"idempotency_key": "short", "code": "1", "offline_at": "now"}]},
        {
            "pickup_point_id": 1,
            "redemptions": [{"idempotency_key": "k" * 65, "code": "1", "offline_at": "2026-11-22T10:00:00Z"}],
        },
        {
            "pickup_point_id": 1,
            "redemptions": [{"idempotency_key": "<script>1234", "code": "1", "offline_at": "2026-11-22T10:00:00Z"}],
        },
        {
            "pickup_point_id": 1,
            "redemptions": [{"idempotency_key": "abcdefgh12", "code": "9" * 301, "offline_at": "2026-11-22T10:00:00Z"}],
        },
        {
            "pickup_point_id": 1,
            "redemptions": [
                {"idempotency_key": "abcdefgh12", "code": "1", "offline_at": "2026-11-22T10:00:00Z", "extra": 1}
            ],
        },
        {"pickup_point_id": 1, "redemptions": "all"},
    ],
)
def test_malformed_sync_bodies_are_422_and_change_nothing(client, login, bags, body):
    bag = bags.make()
    login(bag.staff)
    response = client.post(SYNC, json=body, headers={"X-CSRFToken": token_for(client)})
    assert response.status_code in (400, 422)
    assert response.get_json()["error"]["code"]
    assert db.session.get(PickupCode, bag.code.id, populate_existing=True).status == "issued"
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 0


def test_sync_needs_csrf_a_login_and_the_right_point(client, login, bags):
    bag = bags.make()
    other = bags.make()
    body = {"pickup_point_id": bag.point.id, "redemptions": [item(bag.code.code)]}
    assert client.post(SYNC, json=body).status_code in (400, 401)
    login(bag.staff)
    assert client.post(SYNC, json=body).status_code in (400, 403)
    token = token_for(client)
    stranger = {"pickup_point_id": other.point.id, "redemptions": [item(other.code.code)]}
    assert client.post(SYNC, json=stranger, headers={"X-CSRFToken": token}).status_code == 404
    oversize = {"pickup_point_id": bag.point.id, "redemptions": [item(bag.code.code) for _ in range(101)]}
    assert client.post(SYNC, json=oversize, headers={"X-CSRFToken": token}).status_code == 422
    assert db.session.get(PickupCode, other.code.id, populate_existing=True).status == "issued"
    assert db.session.get(PickupCode, bag.code.id, populate_existing=True).status == "issued"


def test_sync_of_a_code_redeemed_elsewhere_reports_a_conflict_on_the_leader_page(client, login, bags):
    bag = bags.make()
    login(bag.staff)
    token = token_for(client)
    first = {"pickup_point_id": bag.point.id, "redemptions": [item(bag.code.code, device="counter A")]}
    second = {"pickup_point_id": bag.point.id, "redemptions": [item(bag.code.code, device="counter B")]}
    assert (
        client.post(SYNC, json=first, headers={"X-CSRFToken": token}).get_json()["results"][0]["outcome"] == "redeemed"
    )
    result = client.post(SYNC, json=second, headers={"X-CSRFToken": token}).get_json()["results"][0]
    assert result["outcome"] == "conflict" and result["redeemed_by"] == bag.staff.name
    login(bag.leader.user)
    page = client.get(f"/leader/pickup/{bag.point.id}").get_data(as_text=True)
    assert 'id="conflicts"' in page and "counter B" in page and bag.order.number in page
