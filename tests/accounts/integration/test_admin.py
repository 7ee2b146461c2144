"""Platform admin: creating merchants, leaders and merchant staff; suspending; refusing bad input."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditRecord, Leader, Merchant, MerchantMember, User
from app.permissions import roles_of
from tests.support.forms import csrf_from
from tests.support.platform import isolated_client

OK_PASSWORD = "new-password-1"


@pytest.fixture
def client(app):
    return isolated_client(app)


@pytest.fixture
def admin_client(client, login, make_user):
    login(make_user("管理员", is_admin=True))
    return client


def _post(client, url, prefix, data, page="/admin/"):
    token = csrf_from(client.get(page).get_data(as_text=True))
    payload = {f"{prefix}-{key}": value for key, value in data.items()}
    payload[f"{prefix}-csrf_token"] = token
    return client.post(url, data=payload)


def _merchant_data(**overrides):
    data = {"merchant_name": "鲜果坊", "name": "王老板", "phone": "13800000001", "email": "", "password": OK_PASSWORD}
    data.update(overrides)
    return data


def _leader_data(**overrides):
    data = {
        "community_name": "阳光小区",
        "name": "李团长",
        "phone": "13800000002",
        "email": "",
        "password": OK_PASSWORD,
    }
    data.update(overrides)
    return data


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_admin_page_lists_merchants_and_leaders(admin_client, make_merchant, make_leader):
    make_merchant("果蔬批发")
    make_leader("翠苑一区")
    html = admin_client.get("/admin/").get_data(as_text=True)
    assert "果蔬批发" in html and "翠苑一区" in html


def test_admin_creates_merchant_with_owner_who_can_log_in(admin_client, app):
    response = _post(admin_client, "/admin/merchants", "merchant", _merchant_data(phone="+86 138-0000-0001"))
    assert response.status_code == 302
    merchant = db.session.scalar(select(Merchant).where(Merchant.name == "鲜果坊"))
    assert response.headers["Location"].endswith(f"/admin/merchants/{merchant.id}")
    owner = db.session.scalar(select(User).where(User.phone == "13800000001"))
    member = db.session.scalar(select(MerchantMember).where(MerchantMember.merchant_id == merchant.id))
    assert member.user_id == owner.id and member.role == "owner"
    assert roles_of(owner) == {"merchant"}
    fresh = isolated_client(app)
    token = csrf_from(fresh.get("/login").get_data(as_text=True))
    logged_in = fresh.post("/login", data={"login": "13800000001", "password": OK_PASSWORD, "csrf_token": token})
    assert logged_in.status_code == 302, logged_in.get_data(as_text=True)
    assert logged_in.headers["Location"].endswith("/merchant/")


def test_admin_creates_leader_with_their_user(admin_client):
    response = _post(admin_client, "/admin/leaders", "leader", _leader_data())
    assert response.status_code == 302
    leader = db.session.scalar(select(Leader))
    assert leader.community_name == "阳光小区" and leader.user.phone == "13800000002"
    assert "阳光小区" in admin_client.get("/admin/").get_data(as_text=True)


def test_missing_fields_are_field_errors_and_create_nothing(admin_client):
    users_before = _count(User)
    response = _post(
        admin_client, "/admin/merchants", "merchant", _merchant_data(merchant_name="", name="", password="")
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.count('class="error"') >= 3
    assert _count(Merchant) == 0 and _count(User) == users_before


def test_neither_phone_nor_email_is_refused(admin_client):
    response = _post(admin_client, "/admin/leaders", "leader", _leader_data(phone="", email=""))
    assert response.status_code == 422
    assert "Enter a mobile number or an email address." in response.get_data(as_text=True)
    assert _count(Leader) == 0


@pytest.mark.parametrize("phone", ["12345", "2380000000x", "1380000000", "138000000011"])
def test_malformed_phone_is_a_field_error(admin_client, phone):
    response = _post(admin_client, "/admin/merchants", "merchant", _merchant_data(phone=phone))
    assert response.status_code == 422
    assert "Enter an 11-digit mainland mobile number." in response.get_data(as_text=True)
    assert _count(Merchant) == 0


def test_malformed_email_and_short_password_are_field_errors(admin_client):
    response = _post(admin_client, "/admin/leaders", "leader", _leader_data(email="not-an-email", password="short"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Enter a valid email address." in html
    assert _count(Leader) == 0


def test_owner_phone_already_taken_creates_no_merchant(admin_client, make_user):
    make_user("已有用户", phone="13800000001")
    users_before = _count(User)
    response = _post(admin_client, "/admin/merchants", "merchant", _merchant_data(phone="138 0000 0001"))
    assert response.status_code == 422
    assert "Already registered." in response.get_data(as_text=True)
    assert _count(Merchant) == 0 and _count(MerchantMember) == 0 and _count(User) == users_before
    assert "鲜果坊" not in admin_client.get("/admin/").get_data(as_text=True)


def test_owner_email_already_taken_creates_no_merchant(admin_client, make_user):
    make_user("已有用户", email="boss@example.com")
    response = _post(admin_client, "/admin/merchants", "merchant", _merchant_data(phone="", email="Boss@Example.com"))
    assert response.status_code == 422
    assert _count(Merchant) == 0


def test_leader_phone_already_taken_creates_no_leader(admin_client, make_user):
    make_user("已有用户", phone="13800000002")
    users_before = _count(User)
    response = _post(admin_client, "/admin/leaders", "leader", _leader_data())
    assert response.status_code == 422
    assert _count(Leader) == 0 and _count(User) == users_before


def test_duplicate_merchant_name_is_a_field_error(admin_client, make_merchant):
    make_merchant("鲜果坊")
    users_before = _count(User)
    response = _post(admin_client, "/admin/merchants", "merchant", _merchant_data())
    assert response.status_code == 422
    assert "A merchant with this name exists." in response.get_data(as_text=True)
    assert _count(Merchant) == 1 and _count(User) == users_before


def test_hostile_strings_are_stored_verbatim_and_shown_escaped(admin_client):
    hostile = '<script>alert("x")</script>'
    response = _post(admin_client, "/admin/merchants", "merchant", _merchant_data(merchant_name=hostile))
    assert response.status_code == 302
    html = admin_client.get("/admin/").get_data(as_text=True)
    assert hostile not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert db.session.scalar(select(Merchant.name)) == hostile


def test_hostile_input_echoed_in_a_failed_form_is_escaped(admin_client):
    hostile = '"><img src=x onerror=alert(1)>'
    response = _post(admin_client, "/admin/leaders", "leader", _leader_data(community_name=hostile, phone="1"))
    assert response.status_code == 422
    assert "<img src=x" not in response.get_data(as_text=True)


def test_oversized_fields_are_refused(admin_client):
    response = _post(admin_client, "/admin/merchants", "merchant", _merchant_data(merchant_name="长" * 121))
    assert response.status_code == 422
    response = _post(admin_client, "/admin/leaders", "leader", _leader_data(name="名" * 5000))
    assert response.status_code == 422
    assert _count(Merchant) == 0 and _count(Leader) == 0


def test_oversized_request_body_is_refused_without_a_500(admin_client):
    response = _post(admin_client, "/admin/merchants", "merchant", _merchant_data(name="x" * (2 * 1024 * 1024)))
    assert response.status_code == 413
    assert _count(Merchant) == 0


def test_admin_form_without_csrf_token_is_refused(admin_client):
    data = {f"merchant-{k}": v for k, v in _merchant_data().items()}
    response = admin_client.post("/admin/merchants", data=data)
    assert response.status_code == 400
    assert _count(Merchant) == 0


def test_admin_adds_a_staff_member_to_a_merchant(admin_client, make_merchant):
    merchant = make_merchant("鲜果坊")
    page = f"/admin/merchants/{merchant.id}"
    response = _post(
        admin_client,
        f"{page}/staff",
        "staff",
        {"name": "小张", "phone": "13800000003", "email": "", "password": OK_PASSWORD},
        page=page,
    )
    assert response.status_code == 302
    staff = db.session.scalar(select(User).where(User.phone == "13800000003"))
    member = db.session.scalar(select(MerchantMember).where(MerchantMember.user_id == staff.id))
    assert member.merchant_id == merchant.id and member.role == "staff"
    assert "小张" in admin_client.get(page).get_data(as_text=True)


def test_staff_with_a_taken_phone_is_not_added(admin_client, make_merchant, make_user):
    merchant = make_merchant()
    make_user("已有", phone="13800000004")
    page = f"/admin/merchants/{merchant.id}"
    users_before = _count(User)
    response = _post(
        admin_client,
        f"{page}/staff",
        "staff",
        {"name": "小张", "phone": "13800000004", "email": "", "password": OK_PASSWORD},
        page=page,
    )
    assert response.status_code == 422
    assert "Already registered." in response.get_data(as_text=True)
    assert _count(User) == users_before and _count(MerchantMember) == 1


def test_unknown_merchant_answers_404(admin_client, make_merchant):
    merchant = make_merchant()
    missing = merchant.id + 1000
    assert admin_client.get(f"/admin/merchants/{missing}").status_code == 404
    users_before = _count(User)
    response = _post(
        admin_client,
        f"/admin/merchants/{missing}/staff",
        "staff",
        {"name": "小张", "phone": "13800000005", "email": "", "password": OK_PASSWORD},
    )
    assert response.status_code == 404
    assert _count(User) == users_before


def test_suspending_a_leader_takes_the_leader_role_away_and_is_audited(admin_client, make_leader):
    leader = make_leader()
    token = csrf_from(admin_client.get("/admin/").get_data(as_text=True))
    response = admin_client.post(f"/admin/leaders/{leader.id}/active", data={"active": "0", "csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Leader, leader.id).active is False
    assert "leader" not in roles_of(db.session.get(User, leader.user_id))
    admin_client.post(f"/admin/leaders/{leader.id}/active", data={"active": "1", "csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Leader, leader.id).active is True
    actions = db.session.scalars(select(AuditRecord.action).order_by(AuditRecord.id)).all()
    assert actions == ["leader.suspended", "leader.activated"]


def test_suspending_a_merchant_and_bad_values(admin_client, make_merchant, make_leader):
    merchant = make_merchant()
    page = f"/admin/merchants/{merchant.id}"
    token = csrf_from(admin_client.get(page).get_data(as_text=True))
    assert admin_client.post(f"{page}/active", data={"active": "0", "csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Merchant, merchant.id).active is False
    assert admin_client.post(f"{page}/active", data={"active": "maybe", "csrf_token": token}).status_code == 422
    assert admin_client.post(f"{page}/active", data={"csrf_token": token}).status_code == 422
    missing = make_leader().id + 1000
    assert (
        admin_client.post(f"/admin/leaders/{missing}/active", data={"active": "0", "csrf_token": token}).status_code
        == 404
    )


def test_creations_are_audited_with_the_admin_as_actor(admin_client):
    _post(admin_client, "/admin/merchants", "merchant", _merchant_data())
    _post(admin_client, "/admin/leaders", "leader", _leader_data())
    records = db.session.scalars(select(AuditRecord).order_by(AuditRecord.id)).all()
    assert [r.action for r in records] == ["merchant.created", "leader.created"]
    admin = db.session.scalar(select(User).where(User.is_admin))
    assert {r.actor for r in records} == {f"user:{admin.id}"}


def test_non_admins_are_refused(client, login, make_merchant, make_user):
    owner = make_user("老板")
    make_merchant(owner=owner)
    login(owner)
    assert client.get("/admin/").status_code == 403
    token = csrf_from(client.get("/account/notifications").get_data(as_text=True))
    response = client.post("/admin/merchants", data={"merchant-merchant_name": "x", "csrf_token": token})
    assert response.status_code == 403
    assert _count(Merchant) == 1
