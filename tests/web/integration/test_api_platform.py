"""The /api/v1 skeleton: JSON parsing and errors, CSRF for session writes, OpenAPI and docs."""

import json
import re

import pytest
from pydantic import BaseModel, Field
from werkzeug.exceptions import TooManyRequests

from app.blueprints.api.common import parse
from app.blueprints.api.openapi import OPERATION_ATTR
from app.extensions import db
from app.models import User
from app.services.accounts.tokens import create_token
from app.services.core.errors import ValidationFailed
from tests.support.forms import csrf_from
from tests.support.platform import isolated_client


@pytest.fixture
def client(app):
    return isolated_client(app)


@pytest.fixture
def bearer(make_user):
    user = make_user("扫码枪主人")
    _token, plain = create_token(user, "scanner")
    return user, {"Authorization": f"Bearer {plain}"}


def _error(response) -> dict:
    assert response.is_json, response.get_data(as_text=True)[:300]
    return response.get_json()["error"]


def test_me_with_a_session_lists_roles_and_points(client, login, make_user, make_leader, make_point):
    user = make_user("团长")
    leader = make_leader(user=user)
    point = make_point(leader)
    login(user)
    body = client.get("/api/v1/me").get_json()
    assert body == {
        "id": user.id,
        "name": "团长",
        "locale": None,
        "roles": ["leader", "staff"],
        "pickup_point_ids": [point.id],
    }


def test_me_for_anonymous_is_401_json(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert _error(response)["code"] == "unauthorized"


def test_session_write_without_csrf_header_is_refused(client, login, make_user):
    user = make_user()
    login(user)
    response = client.post("/api/v1/me/locale", json={"locale": "en"})
    assert response.status_code == 400
    assert _error(response)["code"] == "csrf_failed"
    assert db.session.get(User, user.id).locale is None


def test_session_write_with_csrf_header_succeeds(client, login, make_user):
    user = make_user()
    login(user)
    token = csrf_from(client.get("/account/notifications").get_data(as_text=True))
    response = client.post("/api/v1/me/locale", json={"locale": "en"}, headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["locale"] == "en"
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "en"


def test_anonymous_write_is_refused(client):
    response = client.post("/api/v1/me/locale", json={"locale": "en"})
    assert response.status_code == 401 and _error(response)["code"] == "unauthorized"


def test_bearer_write_needs_no_csrf_header(client, bearer):
    user, headers = bearer
    response = client.post("/api/v1/me/locale", json={"locale": "zh"}, headers=headers)
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "zh"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"locale": "en"', "application/json"),
        ("", "application/json"),
        ("   ", "application/json"),
        ('{"locale": NaN}', "application/json"),
        (b'{"locale": "\xff"}', "application/json"),
        ('{"locale": "en"}', "text/plain"),
        ("locale=en", "application/x-www-form-urlencoded"),
        ("[" * 5000 + "]" * 5000, "application/json"),
        ('{"a":' * 40 + "1" + "}" * 40, "application/json"),
        (json.dumps({"locale": "en", "pad": "x" * 70_000}), "application/json"),
    ],
    ids=["truncated", "empty", "blank", "nan", "bad-utf8", "text-plain", "form", "deep-array", "deep-object", "big"],
)
def test_malformed_or_non_json_bodies_are_400_bad_json(client, bearer, body, content_type):
    user, headers = bearer
    response = client.post("/api/v1/me/locale", data=body, headers={**headers, "Content-Type": content_type})
    assert response.status_code == 400
    assert _error(response)["code"] == "bad_json"
    assert db.session.get(User, user.id).locale is None


def test_body_over_the_app_limit_is_413_json(client, login, make_user):
    login(make_user())
    token = csrf_from(client.get("/account/notifications").get_data(as_text=True))
    response = client.post(
        "/api/v1/me/locale",
        data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
        headers={"Content-Type": "application/json", "X-CSRFToken": token},
    )
    assert response.status_code == 413
    assert _error(response)["code"] == "request_entity_too_large"


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, {"locale"}),
        ({"locale": "fr"}, {"locale"}),
        ({"locale": 7}, {"locale"}),
        ({"locale": "en", "admin": True}, {"admin"}),
        (["en"], {"body"}),
    ],
)
def test_schema_errors_are_422_with_fields(client, bearer, payload, fields):
    _user, headers = bearer
    response = client.post("/api/v1/me/locale", json=payload, headers=headers)
    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "validation_failed"
    assert set(error["fields"]) == fields
    assert all(isinstance(v, str) and v for v in error["fields"].values())


def test_missing_field_message_is_human(client, bearer):
    _user, headers = bearer
    error = _error(client.post("/api/v1/me/locale", json={}, headers=headers))
    assert error["fields"] == {"locale": "This field is required."}
    error = _error(client.post("/api/v1/me/locale", json={"locale": "fr"}, headers=headers))
    assert error["fields"]["locale"].startswith("Choose one of:")


class _Line(BaseModel):
    product_id: int
    quantity: int = Field(ge=1, le=99)


class _Basket(BaseModel):
    note: str = Field(max_length=5)
    items: list[_Line]


def test_nested_field_paths_are_dotted(app):
    body = {"note": "too long", "items": [{"product_id": 1, "quantity": 1}, {"product_id": "x", "quantity": 0}]}
    with app.test_request_context("/api/v1/x", method="POST", json=body):
        with pytest.raises(ValidationFailed) as caught:
            parse(_Basket)
    fields = caught.value.fields
    assert fields == {
        "note": "At most 5 characters.",
        "items.1.product_id": "Enter a whole number.",
        "items.1.quantity": "Must be at least 1.",
    }


def test_parse_returns_the_model(app):
    with app.test_request_context("/api/v1/x", method="POST", json={"note": " hi ", "items": []}):
        basket = parse(_Basket)
    assert basket.note == " hi " and basket.items == []


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/nope", 404),
        ("DELETE", "/api/v1/me", 405),
        ("GET", "/api/v2/me", 404),
    ],
)
def test_http_errors_under_api_are_json(client, bearer, method, path, status):
    _user, headers = bearer
    response = client.open(path, method=method, headers=headers)
    assert response.status_code == status
    assert _error(response)["message"]


def test_rate_limit_errors_under_api_are_json(app):
    with app.test_request_context("/api/v1/me"):
        response = app.make_response(app.handle_user_exception(TooManyRequests()))
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"


def test_api_responses_are_not_cached(client, bearer):
    _user, headers = bearer
    assert client.get("/api/v1/me", headers=headers).headers["Cache-Control"] == "no-store"


def test_openapi_document_lists_the_platform_paths(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = json.loads(response.get_data(as_text=True))
    assert spec["openapi"].startswith("3.1")
    assert spec["paths"]["/api/v1/me"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Me"
    }
    locale = spec["paths"]["/api/v1/me/locale"]["post"]
    assert locale["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/LocaleIn"}
    assert {"400", "401", "422"} <= set(locale["responses"])
    assert locale["security"] == [{"bearerToken": []}, {"sessionCookie": [], "csrfHeader": []}]
    assert spec["paths"]["/api/v1/openapi.json"]["get"]["security"] == []
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerToken"]["scheme"] == "bearer" and schemes["sessionCookie"]["in"] == "cookie"
    assert "ErrorResponse" in spec["components"]["schemas"]


def test_every_ref_in_the_openapi_document_resolves(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(spec)))
    assert refs and refs <= set(spec["components"]["schemas"])
    operation_ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(operation_ids) == len(set(operation_ids))


def test_every_api_view_is_documented(app):
    undocumented = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and not hasattr(app.view_functions[rule.endpoint], OPERATION_ATTR)
    ]
    assert undocumented == [], "apply @document(...) to these API views"


def test_every_api_rule_is_in_the_openapi_document(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in spec["paths"][path], (method, path)


def test_docs_page_renders_every_operation_without_external_assets(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    spec = client.get("/api/v1/openapi.json").get_json()
    count = sum(len(ops) for ops in spec["paths"].values())
    assert html.count('data-testid="api-operation"') == count
    assert "/api/v1/me/locale" in html and "&#34;locale&#34;" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)


class _ThingsQuery(BaseModel):
    page: int = Field(default=1, ge=1, description="Page number.")
    status: str


class _ThingOut(BaseModel):
    id: int


def test_openapi_builder_describes_path_query_role_and_errors():
    from flask import Flask

    from app.blueprints.api.common import api_role
    from app.blueprints.api.openapi import build_spec, document

    mini = Flask("mini")

    @document(summary="List things", query=_ThingsQuery, response=_ThingOut, errors=(404,))
    @api_role("merchant")
    def things(thing_id):
        return ""

    mini.add_url_rule("/api/v1/things/<int:thing_id>", endpoint="api.things", view_func=things)
    op = build_spec(mini)["paths"]["/api/v1/things/{thing_id}"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert params["thing_id"] == {
        "name": "thing_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
    }
    assert params["status"]["in"] == "query" and params["status"]["required"] is True
    assert params["page"]["required"] is False and params["page"]["description"] == "Page number."
    assert {"401", "403", "404", "422", "200", "default"} == set(op["responses"])
    assert "merchant" in op["description"]
    assert op["security"] == [{"bearerToken": []}, {"sessionCookie": []}]


def test_document_refuses_an_unknown_auth_kind():
    from app.blueprints.api.openapi import document

    with pytest.raises(ValueError):
        document(summary="x", auth="cookie")
