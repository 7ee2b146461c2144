"""Several service calls, each committing on its own, as one all-or-nothing transaction.

Services commit as they go (one commit per request or job). A caller that strings many of them
together and must not leave half of the result behind (the demo seed) runs them inside
`all_or_nothing()`: db.session is then a session joined to one outer transaction of its own
connection in SQLAlchemy's "create_savepoint" mode, so a service's commit only releases a
savepoint, a service's rollback goes back to its own last commit, and the database sees nothing
until the whole block has succeeded. A failure, or the process dying, leaves the database as it
was. On SQLite the outer transaction begins like any other (BEGIN IMMEDIATE for the CLI and jobs,
app/engine.py), so the block holds the write lock from start to end: keep such blocks for work
that may make other writers wait (seeding an empty database), not for requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from app.extensions import db


@contextmanager
def all_or_nothing() -> Iterator[None]:
    """Commit what the block's services committed, together, only if the block succeeds.

    The caller's session is closed first (anything it had not committed is dropped) and the
    caller gets a fresh one afterwards, so nothing it loaded outlives a rolled-back block.
    """
    db.session.remove()
    connection = db.engine.connect()
    try:
        outer = connection.begin()
        # A plain Session: Flask-SQLAlchemy's own picks the engine itself and would ignore the
        # connection (and with it the outer transaction).
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        db.session.registry.set(session)
        try:
            yield
            # Closing drops only what no service committed (its savepoint), as the end of a
            # request would; what they committed is then committed for real, at once.
            session.close()
            outer.commit()
        finally:
            session.close()
            db.session.remove()
            if outer.is_active:
                outer.rollback()
    finally:
        connection.close()
