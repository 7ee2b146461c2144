"""Migrations, not create_all, are the schema: they must build, step down and match the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect

from app import create_app
from app.extensions import db
from tests.conftest import SECRET
from tests.support import engines


@pytest.fixture
def fresh_app(engine_name, tmp_path, monkeypatch):
    """An app over an EMPTY database of the given engine (not the shared test schema)."""
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    if engine_name == "postgresql":
        base = engines.require_pg()
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql("DROP DATABASE IF EXISTS gb_migrations_check")
            conn.exec_driver_sql("CREATE DATABASE gb_migrations_check")
        admin.dispose()
        url = base.rsplit("/", 1)[0] + "/gb_migrations_check"
    else:
        url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET, "TESTING": True})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _closed_window(now: str, *, price_fen: int, stock: int) -> list[str]:
    """Rows an old schema needs under an order: a user, merchant, leader, point, product, window."""
    return [
        "INSERT INTO users (id, name, phone, password_hash, is_admin, active, created_at)"
        f" VALUES (1, 'u', '13900000000', 'x', false, true, '{now}')",
        f"INSERT INTO merchants (id, name, active, created_at) VALUES (1, 'm', true, '{now}')",
        f"INSERT INTO leaders (id, user_id, community_name, active, created_at) VALUES (1, 1, 'c', true, '{now}')",
        "INSERT INTO pickup_points (id, leader_id, name, address, contact_phone, opening_hours, capacity, active,"
        f" created_at) VALUES (1, 1, 'p', 'a', '1', '', 10, true, '{now}')",
        "INSERT INTO products (id, merchant_id, name, spec, category, price_fen, stock, low_stock_threshold,"
        " listed, stock_alert_open, created_at, updated_at)"
        f" VALUES (1, 1, 'n', '', '', {price_fen}, {stock}, 0, true, false, '{now}', '{now}')",
        "INSERT INTO windows (id, merchant_id, title, opens_at, closes_at, pickup_date, status, all_leaders,"
        f" created_at) VALUES (1, 1, 't', '{now}', '2026-11-02 00:00:00', '2026-11-03', 'closed', true, '{now}')",
    ]


def _tables():
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_empty_database_upgrades_to_head_with_every_table(fresh_app):
    upgrade()
    assert _tables() == set(db.metadata.tables)


def test_head_steps_down_one_and_back_up(fresh_app):
    upgrade()
    downgrade(revision="-1")
    upgrade()
    assert _tables() == set(db.metadata.tables)


def test_models_and_migrations_agree(fresh_app):
    upgrade()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), db.metadata)
    assert diff == [], f"models changed without a migration: {diff}"


def test_populated_database_upgrades_and_keeps_its_rows(fresh_app):
    """Batch rebuilds on SQLite must not trip foreign keys, and old redeemed lines count as taken."""
    from sqlalchemy import text

    upgrade(revision="99b013121077")
    now = "2026-11-01 00:00:00"
    statements = [
        *_closed_window(now, price_fen=100, stock=5),
        "INSERT INTO window_items (id, window_id, product_id, group_price_fen, min_group_size, sold, status)"
        " VALUES (1, 1, 1, 100, 1, 3, 'succeeded')",
        "INSERT INTO orders (id, number, access_token, window_id, leader_id, pickup_point_id, customer_name,"
        " customer_phone, status, payment_provider, total_fen, paid_fen, refunded_fen, created_at)"
        f" VALUES (1, 'N1', 'tok', 1, 1, 1, 'c', '13700000000', 'completed', 'offline', 300, 300, 100, '{now}')",
        "INSERT INTO order_items (id, order_id, window_item_id, product_id, product_name, product_spec,"
        " unit_price_fen, quantity, shortage_qty, status) VALUES (1, 1, 1, 1, 'n', '', 100, 3, 1, 'redeemed')",
    ]
    for statement in statements:
        db.session.execute(text(statement))
    db.session.commit()
    upgrade()
    assert db.session.execute(text("SELECT redeemed_qty FROM order_items WHERE id = 1")).scalar() == 2
    assert db.session.execute(text("SELECT count(*) FROM orders")).scalar() == 1
    db.session.rollback()  # end the read: on PostgreSQL it would block the ALTERs below
    downgrade(revision="-1")
    upgrade()


def test_line_refunds_are_backfilled_from_the_refunds_each_path_left(fresh_app):
    """0017: each line's refunded_fen from what its path refunded; a line refunded twice by the
    old after-sales bug is capped at its price (the order keeps the record of what went back)."""
    from sqlalchemy import text

    upgrade(revision="0016_redeem_request_digest")
    now = "2026-11-01 00:00:00"
    order = (
        "INSERT INTO orders (id, number, access_token, window_id, leader_id, pickup_point_id, customer_name,"
        " customer_phone, status, payment_provider, total_fen, paid_fen, refunded_fen, created_at)"
        " VALUES ({id}, 'N{id}', 'tok{id}', 1, 1, 1, 'c', '13700000000', '{status}', 'simulator', {total},"
        f" {{paid}}, {{refunded}}, '{now}')"
    )
    line = (
        "INSERT INTO order_items (id, order_id, window_item_id, product_id, product_name, product_spec,"
        " unit_price_fen, quantity, shortage_qty, redeemed_qty, status)"
        " VALUES ({id}, {order}, 1, 1, 'n', '', {price}, {qty}, {short}, 0, '{status}')"
    )
    refund = (
        "INSERT INTO refunds (order_id, amount_fen, reason, status, created_at, summarized)"
        f" VALUES ({{order}}, {{amount}}, '{{reason}}', 'succeeded', '{now}', false)"
    )
    request = (
        "INSERT INTO after_sales_requests (order_id, order_item_id, merchant_id, leader_id, reason, quantity, note,"
        " status, opened_by, refund_fen, decision_note, created_at)"
        f" VALUES ({{order}}, {{item}}, 1, 1, 'quality', {{qty}}, '', '{{status}}', 'customer', {{fen}}, '', '{now}')"
    )
    statements = [
        *_closed_window(now, price_fen=2200, stock=50),
        "INSERT INTO window_items (id, window_id, product_id, group_price_fen, min_group_size, sold, status)"
        " VALUES (1, 1, 1, 2200, 1, 30, 'succeeded')",
        # 1: the ¥176 line refunded ¥88 + ¥104 by two requests for the same units (the bug), and a
        #    shortage-free ¥69 line untouched.
        order.format(id=1, status="completed", total=24500, paid=24500, refunded=19200),
        line.format(id=1, order=1, price=2200, qty=8, short=0, status="redeemed"),
        line.format(id=2, order=1, price=2300, qty=3, short=0, status="redeemed"),
        request.format(order=1, item=1, qty=4, status="approved", fen=8800),
        request.format(order=1, item=1, qty=8, status="approved", fen=10400),
        request.format(order=1, item=2, qty=1, status="rejected", fen="NULL"),
        refund.format(order=1, amount=8800, reason="after_sales"),
        refund.format(order=1, amount=10400, reason="after_sales"),
        # 2: 3 of 8 short at arrival.
        order.format(id=2, status="ready_for_pickup", total=17600, paid=17600, refunded=6600),
        line.format(id=3, order=2, price=2200, qty=8, short=3, status="confirmed"),
        refund.format(order=2, amount=6600, reason="shortage"),
        # 3: a failed group, plus a late second payment handed back on the order alone.
        order.format(id=3, status="failed", total=4400, paid=8800, refunded=8800),
        line.format(id=4, order=3, price=2200, qty=2, short=0, status="failed"),
        refund.format(order=3, amount=4400, reason="group_failed"),
        refund.format(order=3, amount=4400, reason="late_payment"),
        # 4: cancelled by its customer after paying; 5: cancelled unpaid at the cut-off.
        order.format(id=4, status="cancelled", total=2200, paid=2200, refunded=2200),
        line.format(id=5, order=4, price=2200, qty=1, short=0, status="cancelled"),
        refund.format(order=4, amount=2200, reason="customer_cancelled"),
        order.format(id=5, status="cancelled", total=2200, paid=0, refunded=0),
        line.format(id=6, order=5, price=2200, qty=1, short=0, status="cancelled"),
    ]
    for statement in statements:
        db.session.execute(text(statement))
    db.session.commit()
    upgrade()
    refunded = dict(db.session.execute(text("SELECT id, refunded_fen FROM order_items")).all())
    assert refunded == {1: 17600, 2: 0, 3: 6600, 4: 4400, 5: 2200, 6: 0}
    assert db.session.execute(text("SELECT refunded_fen FROM orders WHERE id = 1")).scalar() == 19200
    db.session.rollback()  # end the read: on PostgreSQL it would block the ALTERs below
    downgrade(revision="-1")
    upgrade()


def test_recent_wrong_codes_are_copied_from_the_audit_trail_for_the_lock(fresh_app):
    """0018: a lock running at the upgrade keeps holding; good lookups and old rows are not copied."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import text

    upgrade(revision="0017_line_refunds")
    now = datetime.now(UTC).replace(tzinfo=None)
    audit = (
        "INSERT INTO audit_records (actor, action, object_type, object_id, detail, created_at)"
        " VALUES (:actor, :action, 'pickup_code', NULL, :detail, :at)"
    )
    rows = [
        ("user:1", "code_lookup", '{"pickup_point_id": 7, "outcome": "invalid_code", "device_id": "dev-12345678"}', 5),
        ("user:2", "redeem_refused", '{"pickup_point_id": 7, "outcome": "wrong_proof", "device_id": null}', 10),
        ("user:1", "code_lookup", '{"pickup_point_id": 7, "outcome": "found", "device_id": null}', 5),
        ("user:1", "code_lookup", '{"pickup_point_id": 7, "outcome": "invalid_code", "device_id": null}', 60 * 5),
        ("user:3", "redeem", '{"pickup_point_id": 7, "outcome": "invalid_code"}', 5),
    ]
    for actor, action, detail, minutes_ago in rows:
        db.session.execute(
            text(audit),
            {"actor": actor, "action": action, "detail": detail, "at": now - timedelta(minutes=minutes_ago)},
        )
    db.session.commit()
    upgrade()
    copied = db.session.execute(
        text("SELECT actor, pickup_point_id, device_id, outcome FROM code_entry_failures ORDER BY actor")
    ).all()
    assert [tuple(row) for row in copied] == [
        ("user:1", 7, "dev-12345678", "invalid_code"),
        ("user:2", 7, None, "wrong_proof"),
    ]
    db.session.rollback()
    downgrade(revision="-1")
    upgrade()
