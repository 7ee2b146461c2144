"""Fixtures. Every test that uses `app` runs on SQLite and on PostgreSQL (when configured;
in CI a missing PostgreSQL fails the run). Migrations, not create_all, build each schema."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from app.models import (
    Leader,
    Merchant,
    MerchantMember,
    PickupPoint,
    PickupStaff,
    Product,
    ShareLink,
    User,
    Window,
    WindowItem,
    WindowLeader,
)
from tests.support import engines
from tests.support.live_server import LiveServer

# The browser fixtures (Chromium through Playwright) serve the browser/ folder of every domain.
pytest_plugins = ("tests.support.browser_session",)

PASSWORD = "correct-horse-42"
SECRET = "test-secret-key-not-for-production"
_seq = itertools.count(1)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter):
    """After pytest's own summary: which groups of tests were skipped and how to run them."""
    result = yield
    from tests.support.skipped import reason_of, summary

    lines = summary([reason_of(report) for report in terminalreporter.stats.get("skipped", [])])
    if lines:
        terminalreporter.section("skipped groups: what would run them", sep="-")
        for line in lines:
            terminalreporter.write_line(line)
    return result


def pytest_generate_tests(metafunc):
    if "engine_name" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker
        names = ["sqlite"] if marker("sqlite_only") else ["postgresql"] if marker("postgresql_only") else None
        names = names or ["sqlite", "postgresql"]
        metafunc.parametrize("engine_name", names, scope="session")


@pytest.fixture(scope="session")
def _apps(tmp_path_factory):
    """One migrated app per engine for the whole session."""
    built: dict[str, object] = {}
    yield built
    for app in built.values():
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(engine_name, _apps, tmp_path_factory, monkeypatch):
    if engine_name not in _apps:
        instance = tmp_path_factory.mktemp(f"instance-{engine_name}")
        if engine_name == "postgresql":
            url = engines.require_pg()
            engines.reset_pg_schema(url)
        else:
            url = f"sqlite:///{instance / 'test.sqlite3'}"
        monkeypatch.setenv("INSTANCE_PATH", str(instance))
        application = create_app(
            {
                "DATABASE_URL": url,
                "SECRET_KEY": SECRET,
                "TESTING": True,
                "SCHEDULER_ENABLED": False,
                "PICKUP_LABELS_DIR": str(instance / "labels"),
                # The test process must never hold SQLite's write lock while a live server works.
                "SQLITE_IMMEDIATE_WRITES": False,
                # Tests assert on readable English messages; tests/web/integration/test_i18n.py pins
                # the shipped default (zh, from app/config.py) and checks the Chinese UI there.
                "BABEL_DEFAULT_LOCALE": "en",
            }
        )
        with application.app_context():
            upgrade()
        _apps[engine_name] = application
    elif engine_name == "postgresql":
        engines.require_pg()
    application = _apps[engine_name]
    from app.engine import sqlite_begin_mode
    from tests.support.platform import IsolatedClient

    # Every client request starts with an empty `g` (see IsolatedClient for why).
    application.test_client_class = IsolatedClient
    mode_token = sqlite_begin_mode.set("DEFERRED")
    saved = dict(application.config)
    with application.app_context():
        engines.empty_all_tables(engine_name)
        yield application
        db.session.remove()
    application.config.clear()
    application.config.update(saved)
    sqlite_begin_mode.reset(mode_token)
    from app.extensions import limiter

    limiter.reset()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def frozen_clock(app):
    """Set `frozen_clock.now` to move time; services read it through app.services.core.clock."""

    class Clock:
        now = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)

        def __call__(self):
            return self.now

        def advance(self, **kw):
            self.now += timedelta(**kw)

    clock = Clock()
    app.config["CLOCK"] = clock
    return clock


@pytest.fixture
def live_server(app, engine_name, tmp_path):
    server = LiveServer(app.config["SQLALCHEMY_DATABASE_URI"], SECRET, str(tmp_path))
    yield server
    server.stop()


# ---- factories: callables that build rows directly, independent of the services under test


@pytest.fixture
def make_user(app):
    from werkzeug.security import generate_password_hash

    hashed = generate_password_hash(PASSWORD)

    def make(name="用户", *, phone=None, email=None, is_admin=False):
        n = next(_seq)
        user = User(name=name, phone=phone or f"139{n:08d}", email=email, is_admin=is_admin, password_hash=hashed)
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_merchant(make_user):
    def make(name=None, *, owner=None):
        merchant = Merchant(name=name or f"商家{next(_seq)}")
        db.session.add(merchant)
        owner = owner or make_user("商家老板")
        db.session.add(MerchantMember(merchant=merchant, user_id=owner.id, role="owner"))
        db.session.commit()
        return merchant

    return make


@pytest.fixture
def make_leader(make_user):
    def make(community=None, *, user=None):
        user = user or make_user("团长")
        leader = Leader(user_id=user.id, community_name=community or f"小区{next(_seq)}")
        db.session.add(leader)
        db.session.commit()
        return leader

    return make


@pytest.fixture
def make_point(make_leader):
    def make(leader=None, *, capacity=200, staff=(), name=None, active=True):
        leader = leader or make_leader()
        point = PickupPoint(
            leader_id=leader.id,
            name=name or f"自提点{next(_seq)}",
            address="幸福路1号",
            contact_phone="13800138000",
            opening_hours="09:00-21:00",
            capacity=capacity,
            active=active,
        )
        db.session.add(point)
        db.session.flush()
        for user in staff:
            db.session.add(PickupStaff(pickup_point_id=point.id, user_id=user.id))
        db.session.commit()
        return point

    return make


@pytest.fixture
def make_product(make_merchant):
    def make(merchant=None, *, name=None, price_fen=1000, stock=100, threshold=0, listed=True):
        merchant = merchant or make_merchant()
        product = Product(
            merchant_id=merchant.id,
            name=name or f"商品{next(_seq)}",
            spec="500g",
            category="水果",
            price_fen=price_fen,
            stock=stock,
            low_stock_threshold=threshold,
            listed=listed,
        )
        db.session.add(product)
        db.session.commit()
        return product

    return make


@pytest.fixture
def make_window(make_merchant):
    """A window with items given as dicts: {product, price_fen?, limit?, quota?, min_group?}."""

    def make(merchant=None, *, items=(), status="open", opens_at=None, closes_at=None, leaders=None, title=None):
        now = datetime.now(UTC)
        merchant = merchant or make_merchant()
        window = Window(
            merchant_id=merchant.id,
            title=title or f"团购{next(_seq)}",
            status=status,
            opens_at=opens_at or now - timedelta(hours=1),
            closes_at=closes_at or now + timedelta(hours=2),
            pickup_date=date(2026, 11, 30),
            all_leaders=leaders is None,
        )
        db.session.add(window)
        db.session.flush()
        for spec in items:
            product = spec["product"]
            db.session.add(
                WindowItem(
                    window_id=window.id,
                    product_id=product.id,
                    group_price_fen=spec.get("price_fen", product.price_fen),
                    per_customer_limit=spec.get("limit"),
                    quota=spec.get("quota"),
                    min_group_size=spec.get("min_group", 1),
                )
            )
        for leader in leaders or ():
            db.session.add(WindowLeader(window_id=window.id, leader_id=leader.id))
        db.session.commit()
        return window

    return make


@pytest.fixture
def make_share_link():
    def make(window, leader, slug=None):
        link = ShareLink(window_id=window.id, leader_id=leader.id, slug=slug or f"s{next(_seq):06d}")
        db.session.add(link)
        db.session.commit()
        return link

    return make


@pytest.fixture
def login(client):
    """Log the test client in as `user` through the real login form."""

    def do(user, password=PASSWORD, c=None):
        c = c or client
        from tests.support.forms import csrf_from

        token = csrf_from(c.get("/login").get_data(as_text=True))
        response = c.post("/login", data={"login": user.phone or user.email, "password": password, "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return c

    return do


@pytest.fixture
def signed_in_owner(make_user, make_merchant, login):
    """(user, merchant): a merchant's owner, logged in on the `client`."""
    user = make_user("老板")
    merchant = make_merchant(owner=user)
    login(user)
    return user, merchant


@pytest.fixture
def make_order():
    """An order built from rows plus real reservations (stock, quota, limit, capacity taken).

    lines: [(window_item, quantity)]. status: any order status; "confirmed"/"ready_for_pickup"
    also get a pickup code (and a batch if `batch` is given). Bypasses the ordering service
    on purpose, so close/pickup tests do not depend on it. No Payment row is written: tests
    that refund need one (tests/support/batches.py `place` adds it).
    """
    import secrets as _secrets

    from app.models import Order, OrderEvent, OrderItem
    from app.services.orders import reservations
    from app.services.pickup import codes

    def make(window, point, lines, *, status="paid", phone=None, name="张三", provider="simulator", batch=None):
        n = next(_seq)
        phone = phone or f"137{n:08d}"
        reservations.reserve(
            [reservations.Line(item, qty) for item, qty in lines],
            window_id=window.id,
            customer_phone=phone,
            pickup_point=point,
            leader_id=point.leader_id,
        )
        total = sum(item.group_price_fen * qty for item, qty in lines)
        order = Order(
            number=f"T{n:010d}",
            access_token=_secrets.token_urlsafe(32),
            window_id=window.id,
            leader_id=point.leader_id,
            pickup_point_id=point.id,
            customer_name=name,
            customer_phone=phone,
            status=status,
            payment_provider=provider,
            total_fen=total,
            paid_fen=total if status not in ("pending_payment", "cancelled") else 0,
            batch_id=batch.id if batch else None,
        )
        db.session.add(order)
        db.session.flush()
        item_status = "confirmed" if status in ("confirmed", "ready_for_pickup") else "reserved"
        for item, qty in lines:
            db.session.add(
                OrderItem(
                    order_id=order.id,
                    window_item_id=item.id,
                    product_id=item.product_id,
                    product_name=item.product.name,
                    product_spec=item.product.spec,
                    unit_price_fen=item.group_price_fen,
                    quantity=qty,
                    status=item_status,
                )
            )
        db.session.add(OrderEvent(order_id=order.id, from_status=None, to_status=status, actor="test"))
        if status in ("confirmed", "ready_for_pickup"):
            codes.issue_code(order)
        db.session.commit()
        return order

    return make
