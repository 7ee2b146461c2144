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
        "INSERT INTO users (id, name, phone, password_hash, is_admin, active, created_at)"
        f" VALUES (1, 'u', '13900000000', 'x', false, true, '{now}')",
        f"INSERT INTO merchants (id, name, active, created_at) VALUES (1, 'm', true, '{now}')",
        f"INSERT INTO leaders (id, user_id, community_name, active, created_at) VALUES (1, 1, 'c', true, '{now}')",
        "INSERT INTO pickup_points (id, leader_id, name, address, contact_phone, opening_hours, capacity, active,"
        f" created_at) VALUES (1, 1, 'p', 'a', '1', '', 10, true, '{now}')",
        "INSERT INTO products (id, merchant_id, name, spec, category, price_fen, stock, low_stock_threshold,"
        " listed, stock_alert_open, created_at, updated_at)"
        f" VALUES (1, 1, 'n', '', '', 100, 5, 0, true, false, '{now}', '{now}')",
        "INSERT INTO windows (id, merchant_id, title, opens_at, closes_at, pickup_date, status, all_leaders,"
        f" created_at) VALUES (1, 1, 't', '{now}', '2026-11-02 00:00:00', '2026-11-03', 'closed', true, '{now}')",
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
