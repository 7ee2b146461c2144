import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import PickupPoint, PickupStaff
from app.permissions import staff_point_ids
from app.services.core.errors import NotFound, ValidationFailed
from app.services.pickup import points


def good(**overrides) -> points.PointInput:
    values = {
        "name": "幸福里自提点",
        "address": "幸福路 8 号门卫室",
        "contact_phone": "13800138000",
        "opening_hours": "09:00-21:00",
        "capacity": 150,
        "active": True,
    }
    values.update(overrides)
    return points.PointInput(**values)


def test_create_point_strips_and_stores(app, make_leader):
    leader = make_leader()
    point = points.create_point(leader, good(name="  北门  ", contact_phone="010-12345678"))
    assert (point.name, point.contact_phone, point.leader_id) == ("北门", "010-12345678", leader.id)
    assert points.list_points(leader) == [point]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"address": ""}, "address"),
        ({"address": "a" * 201}, "address"),
        ({"contact_phone": ""}, "contact_phone"),
        ({"contact_phone": "call me"}, "contact_phone"),
        ({"contact_phone": "123"}, "contact_phone"),
        ({"contact_phone": "1" * 21}, "contact_phone"),
        ({"contact_phone": "010--1234567"}, "contact_phone"),
        ({"opening_hours": "h" * 81}, "opening_hours"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": -5}, "capacity"),
        ({"capacity": 10_001}, "capacity"),
        ({"capacity": 10**30}, "capacity"),
        ({"capacity": None}, "capacity"),
        ({"capacity": "12"}, "capacity"),
        ({"name": "bad\x00name"}, "name"),
    ],
)
def test_bad_point_input_is_refused_with_a_field_error(app, make_leader, overrides, field):
    leader = make_leader()
    with pytest.raises(ValidationFailed) as refused:
        points.create_point(leader, good(**overrides))
    assert field in refused.value.fields
    assert db.session.scalar(select(PickupPoint.id)) is None


def test_capacity_bounds_are_inclusive(app, make_leader):
    leader = make_leader()
    assert points.create_point(leader, good(capacity=1)).capacity == 1
    assert points.create_point(leader, good(capacity=10_000)).capacity == 10_000


def test_hostile_strings_are_stored_verbatim(app, make_leader):
    leader = make_leader()
    point = points.create_point(leader, good(name="<script>alert(1)</script>"))
    assert point.name == "<script>alert(1)</script>"


def test_update_changes_only_my_point(app, make_leader, make_point):
    leader = make_leader()
    point = make_point(leader)
    points.update_point(leader, point.id, good(name="新名字", active=False))
    db.session.refresh(point)
    assert (point.name, point.active) == ("新名字", False)
    other = make_leader()
    with pytest.raises(NotFound):
        points.update_point(other, point.id, good(name="偷改"))
    with pytest.raises(NotFound):
        points.get_point(other, point.id)


def test_staff_assigned_by_phone_may_redeem_there(app, make_leader, make_point, make_user):
    leader = make_leader()
    point = make_point(leader)
    clerk = make_user("小王", phone="13900001111")
    assert points.assign_staff(leader, point.id, " 139-0000-1111 ").id == clerk.id
    points.assign_staff(leader, point.id, "13900001111")  # twice is harmless
    assert db.session.scalars(select(PickupStaff.user_id)).all() == [clerk.id]
    assert staff_point_ids(clerk) == [point.id]
    assert points.staff_of(point) == [clerk]
    assert points.unassign_staff(leader, point.id, clerk.id) is True
    assert points.unassign_staff(leader, point.id, clerk.id) is False
    assert staff_point_ids(clerk) == []


@pytest.mark.parametrize("phone", ["13900009999", "not a phone", ""])
def test_assigning_unknown_or_malformed_phone_is_a_field_error(app, make_leader, make_point, phone):
    leader = make_leader()
    point = make_point(leader)
    with pytest.raises(ValidationFailed) as refused:
        points.assign_staff(leader, point.id, phone)
    assert "phone" in refused.value.fields


def test_staff_of_another_leaders_point_cannot_be_changed(app, make_leader, make_point, make_user):
    point = make_point(staff=[make_user("店员")])
    intruder = make_leader()
    with pytest.raises(NotFound):
        points.assign_staff(intruder, point.id, make_user("x").phone)
    with pytest.raises(NotFound):
        points.unassign_staff(intruder, point.id, point.staff_links[0].user_id)
