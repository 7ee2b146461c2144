"""all_or_nothing(): services that commit on their own, committed together or not at all."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import User
from app.services.core import atomic


def _phones() -> list[str]:
    return sorted(db.session.scalars(select(User.phone)))


def _user(phone: str) -> None:
    db.session.add(User(name="用户", phone=phone, password_hash="x"))


def test_commits_inside_are_kept_only_when_the_block_ends_well(app):
    with atomic.all_or_nothing():
        _user("13900000001")
        db.session.commit()
        _user("13900000002")
        db.session.rollback()  # a service giving up goes back to its own last commit only
        _user("13900000003")
        db.session.commit()
        _user("13900000004")  # never committed by anyone: dropped, as at the end of a request
        db.session.flush()
    assert _phones() == ["13900000001", "13900000003"]


def test_a_failure_after_several_commits_leaves_nothing(app):
    with pytest.raises(RuntimeError), atomic.all_or_nothing():
        for n in range(3):
            _user(f"1390000001{n}")
            db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(User)) == 3  # seen inside
        raise RuntimeError("killed half-way")
    assert _phones() == []
    _user("13900000020")  # the caller's session works as before
    db.session.commit()
    assert _phones() == ["13900000020"]
