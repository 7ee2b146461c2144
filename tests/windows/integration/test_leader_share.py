from sqlalchemy import func, select

from app.extensions import db
from app.models import ShareLink
from tests.support.forms import post_form


def make_link(client, window):
    page = f"/leader/windows/{window.id}/share"
    return post_form(client, page, {})


def test_share_link_is_made_once_and_shown_with_its_qr(app, client, login, make_leader, make_window):
    app.config["PUBLIC_BASE_URL"] = "https://tuan.example.com"
    leader, window = make_leader(), make_window()
    login(leader.user)
    first = client.get(f"/leader/windows/{window.id}/share").get_data(as_text=True)
    assert 'data-testid="create-share-link"' in first
    assert db.session.scalar(select(ShareLink.id)) is None  # looking does not create it
    assert make_link(client, window).status_code == 302
    assert make_link(client, window).status_code == 302  # double click: still one link
    assert db.session.scalar(select(func.count()).select_from(ShareLink)) == 1
    html = client.get(f"/leader/windows/{window.id}/share").get_data(as_text=True)
    link = db.session.scalar(select(ShareLink))
    assert f"https://tuan.example.com/s/{link.slug}" in html
    assert f"/leader/windows/{window.id}/share.png" in html and "data-copy-target" in html


def test_share_png_is_a_png(client, login, make_leader, make_window):
    leader, window = make_leader(), make_window()
    login(leader.user)
    assert client.get(f"/leader/windows/{window.id}/share.png").status_code == 404
    make_link(client, window)
    response = client.get(f"/leader/windows/{window.id}/share.png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG\r\n\x1a\n")
    download = client.get(f"/leader/windows/{window.id}/share.png?download=1")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert ".png" in download.headers["Content-Disposition"]


def test_windows_the_leader_may_not_sell_are_404(client, login, make_leader, make_window):
    chosen, outsider = make_leader(), make_leader()
    private = make_window(leaders=[chosen])
    login(outsider.user)
    assert client.get(f"/leader/windows/{private.id}/share").status_code == 404
    assert client.get(f"/leader/windows/{private.id}/share.png").status_code == 404
    assert make_link(client, private).status_code == 404
    assert client.get("/leader/windows/999999/share").status_code == 404
    assert db.session.scalar(select(ShareLink.id)) is None


def test_share_link_needs_a_csrf_token(client, login, make_leader, make_window):
    leader, window = make_leader(), make_window()
    login(leader.user)
    assert client.post(f"/leader/windows/{window.id}/share").status_code == 400
    assert db.session.scalar(select(ShareLink.id)) is None


def test_home_lists_shareable_windows(client, login, make_leader, make_window):
    leader = make_leader()
    window = make_window(title="周末水果团")
    login(leader.user)
    html = client.get("/leader/").get_data(as_text=True)
    assert "周末水果团" in html and f"/leader/windows/{window.id}/share" in html
    assert 'class="countdown"' in html
