import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ShareLink
from app.services.core.errors import NotFound
from app.services.windows import sharing


def test_share_link_is_created_once_per_window_and_leader(app, make_leader, make_window):
    leader, window = make_leader(), make_window()
    first = sharing.get_or_create_share_link(window, leader)
    again = sharing.get_or_create_share_link(window, leader)
    assert first.id == again.id
    assert len(first.slug) == 8 and set(first.slug) <= set(sharing.SLUG_ALPHABET)
    other = sharing.get_or_create_share_link(window, make_leader())
    assert other.slug != first.slug
    assert db.session.scalar(select(func.count()).select_from(ShareLink)) == 2


def test_racing_creation_returns_the_existing_link(app, make_leader, make_window, make_share_link, monkeypatch):
    leader, window = make_leader(), make_window()
    existing = make_share_link(window, leader, slug="abcdefgh")
    # Simulate the race: our first read misses the row a concurrent request just committed.
    real = sharing._existing
    calls = iter([None])
    monkeypatch.setattr(sharing, "_existing", lambda w, lead: next(calls, None) or real(w, lead))
    assert sharing.get_or_create_share_link(window, leader).id == existing.id


def test_slug_collision_retries_with_a_new_slug(app, make_leader, make_window, make_share_link, monkeypatch):
    make_share_link(make_window(), make_leader(), slug="aaaaaaaa")
    slugs = iter(["aaaaaaaa", "bbbbbbbb"])
    monkeypatch.setattr(sharing, "new_slug", lambda: next(slugs))
    assert sharing.get_or_create_share_link(make_window(), make_leader()).slug == "bbbbbbbb"


def test_share_url_uses_the_public_base_url(app, make_leader, make_window, make_share_link):
    app.config["PUBLIC_BASE_URL"] = "https://tuan.example.com/"
    link = make_share_link(make_window(), make_leader(), slug="k3m9p2qa")
    assert sharing.share_url(link) == "https://tuan.example.com/s/k3m9p2qa"
    assert sharing.share_qr_png(link).startswith(b"\x89PNG\r\n\x1a\n")


def test_only_windows_the_leader_may_sell_can_be_shared(app, make_leader, make_window):
    chosen, outsider = make_leader(), make_leader()
    private = make_window(leaders=[chosen])
    assert sharing.sellable_window(chosen, private.id).id == private.id
    with pytest.raises(NotFound):
        sharing.sellable_window(outsider, private.id)
    with pytest.raises(NotFound):
        sharing.sellable_window(chosen, make_window(status="draft").id)
    with pytest.raises(NotFound):
        sharing.sellable_window(chosen, 999_999)
