"""Walk the whole URL map: every rule is public by an explicit list, or refuses anonymous
users and users without the role it needs. Routes added later are covered automatically."""

from __future__ import annotations

import re

import pytest

from app.blueprints.api.openapi import OPERATION_ATTR
from app.extensions import db
from tests.support.platform import isolated_client

# Reachable without logging in. Whole blueprints: the customer shop and payment callbacks.
# pwa: the manifest, service worker, icons, offline page and npm libraries carry no user data
# and must load before sign-in (the login page is where a phone first installs the app).
PUBLIC_BLUEPRINTS = ("shop", "payments", "pwa")
PUBLIC_ENDPOINTS = {
    "static",
    "auth.index",
    "auth.login",
    "auth.logout",
    "auth.set_language",
    # An invitation link's token is the credential (services/accounts/merchant_team.py).
    "auth.join",
    "auth.join_accept",
    "api.openapi",
    "api.docs",
    # The customer API: a share link or an order's access token is the credential.
    "api.place_order",
    "api.get_order",
    "api.cancel_order",
    # Operators' probes: they say only ok/fail per check (tests/ops/integration/test_ops_health.py).
    "ops.healthz",
    "ops.readyz",
    # No login: only the configured addresses or the metrics token, else 404; the test client
    # comes from loopback, the default allowed address (tests/ops/integration/test_ops_metrics.py).
    "ops.metrics",
}
# Need a login but no role: every user has an account and may call these.
LOGIN_ONLY_BLUEPRINTS = ("account",)
LOGIN_ONLY_ENDPOINTS = {"api.me", "api.set_locale", "api.push_key", "api.push_subscribe", "api.push_unsubscribe"}
# Paths each single-role user must be refused on.
FORBIDDEN_PREFIXES = {
    "leader": ("/merchant/", "/admin/", "/api/v1/merchant/", "/api/v1/admin/"),
    "merchant": ("/leader/", "/pickup/", "/admin/", "/api/v1/leader/", "/api/v1/pickup/", "/api/v1/admin/"),
    "staff": ("/merchant/", "/leader/", "/admin/", "/api/v1/merchant/", "/api/v1/leader/", "/api/v1/admin/"),
}
SKIPPED_METHODS = {"HEAD", "OPTIONS"}
DUMMY_ID = "424242"
_PARAM_RE = re.compile(r"<(?:(?P<converter>[a-zA-Z_]\w*)(?:\((?P<args>.*?)\))?:)?(?P<name>[a-zA-Z_]\w*)>")


def _blueprint(endpoint: str) -> str:
    return endpoint.split(".", 1)[0] if "." in endpoint else ""


def _is_public(endpoint: str) -> bool:
    return endpoint in PUBLIC_ENDPOINTS or _blueprint(endpoint) in PUBLIC_BLUEPRINTS


def _is_login_only(endpoint: str) -> bool:
    return endpoint in LOGIN_ONLY_ENDPOINTS or _blueprint(endpoint) in LOGIN_ONLY_BLUEPRINTS


def _dummy(match: re.Match) -> str:
    converter = match.group("converter") or "default"
    if converter == "int":
        return DUMMY_ID
    if converter == "float":
        return "1.5"
    if converter == "uuid":
        return "00000000-0000-4000-8000-000000000000"
    if converter == "any":
        return match.group("args").split(",")[0].strip().strip("'\"")
    return "dummy"


def _requests(app, keep):
    """(endpoint, method, url) for every rule and method whose endpoint `keep` accepts."""
    found = []
    for rule in app.url_map.iter_rules():
        if not keep(rule.endpoint):
            continue
        url = _PARAM_RE.sub(_dummy, rule.rule)
        for method in sorted((rule.methods or set()) - SKIPPED_METHODS):
            found.append((rule.endpoint, method, url))
    assert found, "the walk found no rules; is the URL map empty?"
    return sorted(found, key=lambda r: (r[2], r[1]))


def _protected(endpoint: str) -> bool:
    return not _is_public(endpoint)


def _role_protected(endpoint: str) -> bool:
    return not _is_public(endpoint) and not _is_login_only(endpoint)


@pytest.fixture
def walker(app, login):
    """A client with CSRF off, so that what refuses a request is the permission check."""
    app.config["WTF_CSRF_ENABLED"] = False

    def make(user=None):
        client = isolated_client(app)
        if user is not None:
            login(user, c=client)
        return client

    return make


def _is_json_refusal(response, status: int) -> bool:
    return (
        response.status_code == status
        and response.is_json
        and response.get_json().get("error", {}).get("code") in {"unauthorized", "forbidden"}
    )


def test_public_list_names_only_real_endpoints(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert PUBLIC_ENDPOINTS - endpoints == set()
    assert LOGIN_ONLY_ENDPOINTS - endpoints == set()


def test_public_api_endpoints_are_exactly_those_documented_as_public(app):
    documented_public = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        and getattr(getattr(app.view_functions[rule.endpoint], OPERATION_ATTR, None), "auth", None) == "public"
    }
    listed_public = {e for e in PUBLIC_ENDPOINTS if e.startswith("api.")}
    assert documented_public == listed_public


def test_every_non_public_rule_refuses_anonymous_users(app, walker):
    client = walker()
    failures = []
    for endpoint, method, url in _requests(app, _protected):
        response = client.open(url, method=method)
        if url.startswith("/api/"):
            ok = _is_json_refusal(response, 401)
        else:
            ok = response.status_code == 302 and response.headers["Location"].startswith("/login")
        if not ok:
            failures.append((endpoint, method, url, response.status_code))
    assert failures == [], "these rules answer anonymous users; protect them or list them as public"


def test_user_without_a_role_is_refused_on_every_role_protected_rule(app, walker, make_user):
    client = walker(make_user("没有角色"))
    failures = []
    for endpoint, method, url in _requests(app, _role_protected):
        response = client.open(url, method=method)
        if response.status_code not in (403, 404):
            failures.append((endpoint, method, url, response.status_code))
        elif url.startswith("/api/") and not response.is_json:
            failures.append((endpoint, method, url, "not JSON"))
    assert failures == []


def test_login_only_rules_do_not_crash_for_a_user_without_a_role(app, walker, make_user):
    client = walker(make_user("没有角色"))
    failures = []
    for endpoint, method, url in _requests(app, lambda e: _is_login_only(e) and not _is_public(e)):
        response = client.open(url, method=method)
        if response.status_code >= 500:
            failures.append((endpoint, method, url, response.status_code))
    assert failures == []


def _assert_refused_outside_role(app, client, role: str):
    prefixes = FORBIDDEN_PREFIXES[role]
    failures = []
    checked = 0
    for endpoint, method, url in _requests(app, _role_protected):
        if not url.startswith(prefixes):
            continue
        checked += 1
        response = client.open(url, method=method)
        if response.status_code not in (403, 404):
            failures.append((endpoint, method, url, response.status_code))
    assert checked, f"no rules under {prefixes}"
    assert failures == []


def test_leader_is_refused_on_merchant_and_admin_rules(app, walker, make_leader, make_point):
    leader = make_leader()
    make_point(leader)
    _assert_refused_outside_role(app, walker(leader.user), "leader")


def test_merchant_is_refused_on_leader_pickup_and_admin_rules(app, walker, make_merchant, make_user):
    owner = make_user("商家老板")
    make_merchant(owner=owner)
    _assert_refused_outside_role(app, walker(owner), "merchant")


def test_pickup_staff_is_refused_on_merchant_leader_and_admin_rules(app, walker, make_point, make_user):
    staff = make_user("店员")
    make_point(staff=[staff])
    _assert_refused_outside_role(app, walker(staff), "staff")


# ---- merchant staff areas

# Merchant pages any member may open; every other merchant rule names the area it needs.
MEMBER_ONLY_ENDPOINTS = {"merchant.index"}


def _is_merchant_rule(endpoint: str, url: str) -> bool:
    return _blueprint(endpoint) == "merchant" or url.startswith("/api/v1/merchant/")


def _area_of(app, endpoint: str) -> str | None:
    from app.blueprints.access import AREA_ATTR

    return getattr(app.view_functions[endpoint], AREA_ATTR, None)


def _staff_with(make_user, merchant, areas):
    from app.models import MerchantMember

    user = make_user("商家员工")
    db.session.add(MerchantMember(merchant_id=merchant.id, user_id=user.id, role="staff", areas=list(areas)))
    db.session.commit()
    return user


def test_every_merchant_rule_names_the_area_it_needs(app):
    unnamed = [
        (endpoint, method, url)
        for endpoint, method, url in _requests(app, lambda e: e.startswith(("merchant.", "api.")))
        if _is_merchant_rule(endpoint, url) and endpoint not in MEMBER_ONLY_ENDPOINTS and not _area_of(app, endpoint)
    ]
    assert unnamed == [], "decorate these with merchant_area_required(...) or api_role('merchant:<area>')"


def test_staff_are_refused_outside_their_areas_and_let_in_to_them(app, walker, make_merchant, make_user):
    from app.services.accounts.merchant_team import AREAS

    merchant = make_merchant()
    rules = [
        (endpoint, method, url, _area_of(app, endpoint))
        for endpoint, method, url in _requests(app, lambda e: e.startswith(("merchant.", "api.")))
        if _is_merchant_rule(endpoint, url) and endpoint not in MEMBER_ONLY_ENDPOINTS
    ]
    assert {area for *_, area in rules} >= {
        "products",
        "windows",
        "batches",
        "after_sales",
        "finance",
        "reports",
        "owner",
    }
    nobody = walker(_staff_with(make_user, merchant, []))
    clients = {area: walker(_staff_with(make_user, merchant, [area])) for area in AREAS}
    failures = []
    for endpoint, method, url, area in rules:
        refused = nobody.open(url, method=method)
        if refused.status_code != 403:
            failures.append(("no areas", endpoint, method, url, refused.status_code))
        for other, client in clients.items():
            response = client.open(url, method=method)
            allowed = other == area
            if allowed and response.status_code in (401, 403):
                failures.append((f"area {other}", endpoint, method, url, response.status_code))
            if not allowed and response.status_code != 403:
                failures.append((f"area {other}", endpoint, method, url, response.status_code))
    assert failures == []
