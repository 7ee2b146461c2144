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
