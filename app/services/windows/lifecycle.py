"""A window's state machine: the one module that changes `windows.status` (DESIGN.md §3).

draft → scheduled → open → closed (→ settled, with the money work). Each move is a
compare-and-set on the state the caller expects, so a double click, two schedulers or a racing
edit change a window at most once. The rules for when a move is allowed live with the callers
(`windows.py` schedules and opens, `closing/closing.py` closes); only the write lives here.
`tests/house/unit/test_state_owners.py` fails if another module writes the column.
"""

from __future__ import annotations

from sqlalchemy import update

from app.extensions import db
from app.models import Window


def move(window_id: int, expected: str, target: str, *conditions, **values) -> bool:
    """expected → target (with `values` for its other columns) if `conditions` hold; False, and
    nothing written, if the window was not in `expected`. The caller commits."""
    return bool(
        db.session.execute(
            update(Window)
            .where(Window.id == window_id, Window.status == expected, *conditions)
            .values(status=target, **values)
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def lock_in(window_id: int, states: tuple[str, ...]) -> bool:
    """Take the window's row lock while it is in one of `states` (a write of its own state, which
    SQLite and PostgreSQL both serialise); False if it is in none of them."""
    return bool(
        db.session.execute(
            update(Window)
            .where(Window.id == window_id, Window.status.in_(states))
            .values(status=Window.status)
            .execution_options(synchronize_session=False)
        ).rowcount
    )
