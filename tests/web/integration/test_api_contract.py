"""The API's contract with its clients: a valid OpenAPI document that lists exactly the routes
there are and states the rules the server enforces, 405s that say what is allowed, and 401 (not a
CSRF failure) for a write that carries no credential at all."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from app.blueprints.api.openapi import build_spec, endpoints
from app.blueprints.api.schemas import PICKUP_CODE_PATTERN
from app.extensions import db
from app.models import User
from tests.support.forms import csrf_from
from tests.support.platform import isolated_client

WRITE_METHODS = {"post", "put", "patch", "delete"}


@pytest.fixture
def spec(app):
    return build_spec(app)


def test_openapi_document_is_valid(spec):
    # Raises with the first problem; `default: null` beside `type: string` was one (16 on main).
    validate(spec)
    assert spec["openapi"].startswith("3.1")


def test_documented_operations_are_exactly_the_api_routes(app, spec):
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            routed |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routed
    # And each documented path, filled in, reaches the view that documents it (not another
    # rule that shadows it).
    adapter = app.url_map.bind("localhost")
    for ep in endpoints(app):
        endpoint, _args = adapter.match(re.sub(r"\{[^}]+\}", "1", ep.path), method=ep.method.upper())
        assert endpoint == ep.endpoint, (ep.path, ep.method)


def _request_models(spec) -> set[str]:
    names = set()
    for ops in spec["paths"].values():
        for op in ops.values():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if "$ref" in body:
                names.add(body["$ref"].rsplit("/", 1)[-1])
    return names


def _unstated(where: str, schema: dict, defs: dict, seen: set) -> list[str]:
    """Values a client could send whose limits the document does not state."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        seen.add(name)
        return _unstated(name, defs[name], defs, seen)
    problems = []
    for branch in schema.get("anyOf", []):
        problems += _unstated(where, branch, defs, seen)
    kind = schema.get("type")
    if kind == "string" and not {"maxLength", "enum", "pattern", "format", "const"} & set(schema):
        problems.append(f"{where}: a string without maxLength or pattern")
    if kind == "integer" and not {"minimum", "maximum"} <= set(schema):
        problems.append(f"{where}: an integer without minimum and maximum")
    if kind == "array":
        if "maxItems" not in schema:
            problems.append(f"{where}: an array without maxItems")
        problems += _unstated(f"{where}[]", schema.get("items", {}), defs, seen)
    if kind == "object":
        for name, prop in schema.get("properties", {}).items():
            problems += _unstated(f"{where}.{name}", prop, defs, seen)
        values = schema.get("additionalProperties")
        if isinstance(values, dict):
            if "propertyNames" not in schema and "patternProperties" not in schema:
                problems.append(f"{where}: object keys without a stated form")
            problems += _unstated(f"{where}{{}}", values, defs, seen)
    return problems


def test_every_request_value_has_its_limits_in_the_document(spec):
    defs = spec["components"]["schemas"]
    problems = []
    for name in sorted(_request_models(spec)):
        problems += _unstated(name, {"$ref": f"#/components/schemas/{name}"}, defs, set())
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for param in op.get("parameters", []):
                if param["in"] == "path" and param["schema"]["type"] == "integer":
                    problems += _unstated(f"{method} {path} {param['name']}", param["schema"], defs, set())
    assert problems == []


def test_path_ids_are_bounded_like_the_server_bounds_them(spec):
    param = spec["paths"]["/api/v1/merchant/products/{product_id}"]["get"]["parameters"][0]
    assert param["schema"] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}


def test_push_endpoint_rules_are_stated(spec):
    endpoint = spec["components"]["schemas"]["SubscribeIn"]["properties"]["endpoint"]
    assert "https://" in endpoint["description"] and endpoint["maxLength"] == 500


def test_pickup_code_is_described_as_the_8_digits_or_the_signed_qr(spec):
    code = spec["components"]["schemas"]["PreviewIn"]["properties"]["code"]
    assert code["pattern"] == PICKUP_CODE_PATTERN and "8-digit" in code["description"]
    sync_item = spec["components"]["schemas"]["SyncItem"]["properties"]["code"]
    assert sync_item["pattern"] == PICKUP_CODE_PATTERN


@pytest.mark.parametrize(
    ("text", "well_formed"),
    [
        ("12345678", True),
        ("1234 5678", True),
        ("1234-5678", True),
        ("GB1.k1.1.1.12345678.1700000000.c2ln", True),
        ("1234567", False),
        ("123456789", False),
        ("1234abcd", False),
        ("abc", False),
    ],
)
def test_documented_code_pattern_agrees_with_the_counter(app, make_user, make_point, text, well_formed):
    """What the pattern refuses, the server answers 422 on `code`; what it accepts, the server
    looks up (404 unknown code, 400 bad signature), never calls malformed."""
    staff = make_user("店员")
    point = make_point(staff=[staff])
    db.session.commit()
    from app.services.accounts.tokens import create_token

    _token, plain = create_token(staff, "scanner")
    client = isolated_client(app)
    response = client.post(
        "/api/v1/pickup/preview",
        json={"pickup_point_id": point.id, "code": text},
        headers={"Authorization": f"Bearer {plain}", "X-Device-Id": "device-contract-1"},
    )
    assert bool(re.fullmatch(PICKUP_CODE_PATTERN, text)) is well_formed
    malformed = response.status_code == 422 and "code" in response.get_json()["error"].get("fields", {})
    assert malformed is not well_formed, response.get_json()


# ---- 405 and 401


def test_json_405_names_the_allowed_methods(client):
    response = client.delete("/api/v1/me")
    assert response.status_code == 405 and response.is_json
    assert "GET" in {m.strip() for m in response.headers["Allow"].split(",")}


def test_html_405_names_the_allowed_methods(client):
    response = client.put("/login")
    assert response.status_code == 405 and response.mimetype == "text/html"
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["Allow"].split(",")}


def _protected_writes(spec) -> list[tuple[str, str]]:
    return [
        (method, re.sub(r"\{[^}]+\}", "1", path))
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method in WRITE_METHODS and op["security"]
    ]


def test_every_protected_api_write_without_credentials_is_401(app, spec):
    assert app.config.get("WTF_CSRF_ENABLED", True)
    writes = _protected_writes(spec)
    assert len(writes) > 10
    client = isolated_client(app)
    failures = []
    for method, url in writes:
        response = client.open(url, method=method.upper(), json={})
        error = response.get_json(silent=True) or {}
        if response.status_code != 401 or error.get("error", {}).get("code") != "unauthorized":
            failures.append((method, url, response.status_code, error))
        elif "Bearer" not in response.headers.get("WWW-Authenticate", ""):
            failures.append((method, url, "no WWW-Authenticate"))
    assert failures == []


def test_logged_in_session_write_without_csrf_header_is_still_refused(app, login, make_user):
    user = make_user()
    client = login(user, c=isolated_client(app))
    response = client.post("/api/v1/me/locale", json={"locale": "en"})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "csrf_failed"
    assert db.session.get(User, user.id).locale is None


def test_remember_cookie_write_without_csrf_header_is_still_refused(app, make_user):
    """A remember-me cookie logs the browser in by itself: it is an ambient credential too."""
    from tests.conftest import PASSWORD

    user = make_user()
    client = isolated_client(app)
    token = csrf_from(client.get("/login").get_data(as_text=True))
    client.post(
        "/login", data={"login": user.phone or user.email, "password": PASSWORD, "csrf_token": token, "remember": "y"}
    )
    assert client.get_cookie("remember_token") is not None
    client.delete_cookie("session")
    response = client.post("/api/v1/me/locale", json={"locale": "en"})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "csrf_failed"
    assert db.session.get(User, user.id).locale is None
