from sqlalchemy import select

from app.extensions import db
from app.models import PickupPoint, PickupStaff
from tests.support.forms import csrf_from, post_form

FORM = {
    "name": "幸福里自提点",
    "address": "幸福路 8 号",
    "contact_phone": "0755-1234567",
    "opening_hours": "9-21",
    "capacity": "120",
    "active": "y",
}


def test_leader_creates_a_point_through_the_form(client, login, make_leader):
    leader = make_leader()
    login(leader.user)
    response = post_form(client, "/leader/points/new", FORM)
    assert response.status_code == 302
    point = db.session.scalar(select(PickupPoint))
    assert (point.leader_id, point.capacity, point.contact_phone) == (leader.id, 120, "0755-1234567")
    assert point.name in client.get("/leader/points").get_data(as_text=True)


def test_bad_point_form_rerenders_with_field_errors_and_saves_nothing(client, login, make_leader):
    login(make_leader().user)
    for bad in (
        {"name": ""},
        {"capacity": "-1"},
        {"capacity": "abc"},
        {"capacity": "99999999999999999999"},
        {"contact_phone": "not-a-phone"},
        {"address": "x" * 201},
    ):
        response = post_form(client, "/leader/points/new", {**FORM, **bad})
        assert response.status_code == 422, bad
        assert 'class="error"' in response.get_data(as_text=True)
    assert db.session.scalar(select(PickupPoint.id)) is None


def test_hostile_names_are_escaped(client, login, make_leader, make_point):
    leader = make_leader()
    make_point(leader, name='<img src=x onerror="alert(1)">')
    login(leader.user)
    html = client.get("/leader/points").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x" in html


def test_edit_my_point(client, login, make_leader, make_point):
    leader = make_leader()
    point = make_point(leader)
    login(leader.user)
    response = post_form(client, f"/leader/points/{point.id}", {**FORM, "name": "改名了", "active": ""})
    assert response.status_code == 302
    db.session.refresh(point)
    assert (point.name, point.active) == ("改名了", False)


def test_another_leaders_point_is_404(client, login, make_leader, make_point):
    point = make_point()
    login(make_leader().user)
    assert client.get(f"/leader/points/{point.id}").status_code == 404
    token = csrf_from(client.get("/leader/points").get_data(as_text=True))
    assert client.post(f"/leader/points/{point.id}", data={**FORM, "csrf_token": token}).status_code == 404
    assert (
        client.post(f"/leader/points/{point.id}/staff", data={"phone": "13900000000", "csrf_token": token}).status_code
        == 404
    )


def test_assign_and_remove_staff_by_phone(client, login, make_leader, make_point, make_user):
    leader = make_leader()
    point = make_point(leader)
    clerk = make_user("小李", phone="13655556666")
    login(leader.user)
    page = f"/leader/points/{point.id}"
    assert post_form(client, f"{page}/staff", {"phone": "13655556666"}, page=page).status_code == 302
    html = client.get(page).get_data(as_text=True)
    assert "小李" in html and "136****6666" in html and "13655556666" not in html
    assert post_form(client, f"{page}/staff/{clerk.id}/remove", {}, page=page).status_code == 302
    assert db.session.scalar(select(PickupStaff.id)) is None


def test_unknown_staff_phone_is_a_field_error(client, login, make_leader, make_point):
    leader = make_leader()
    point = make_point(leader)
    login(leader.user)
    page = f"/leader/points/{point.id}"
    response = post_form(client, f"{page}/staff", {"phone": "13011112222"}, page=page)
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)


def test_leader_pages_refuse_other_roles(client, login, make_user):
    assert client.get("/leader/points").status_code == 302
    login(make_user("路人"))
    for url in ("/leader/", "/leader/points", "/leader/orders", "/leader/batches"):
        assert client.get(url).status_code == 403, url
