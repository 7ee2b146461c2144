"""Sharing a window: the leader's short link, a copy button, and the QR to post in the group chat.

The link is created by a POST (get-or-create, so a double click is harmless); the pages that
show it are plain GETs that never write, as read-only requests are served without the write lock.
"""

from __future__ import annotations

import io

from flask import g, redirect, render_template, request, send_file, url_for

from app.blueprints.access import leader_required
from app.blueprints.leader import bp
from app.blueprints.leader.forms import PlainForm
from app.services.windows import share_poster as share_poster_service
from app.services.windows import sharing


@bp.get("/windows/<int:window_id>/share")
@leader_required
def share(window_id: int):
    window = sharing.sellable_window(g.leader, window_id)
    link = sharing.find_share_link(window, g.leader)
    return render_template(
        "leader/share.html",
        window=window,
        link=link,
        url=sharing.share_url(link) if link else None,
        form=PlainForm(),
    )


@bp.post("/windows/<int:window_id>/share")
@leader_required
def share_create(window_id: int):
    # CSRFProtect has checked the token of this bodiless form.
    window = sharing.sellable_window(g.leader, window_id)
    sharing.get_or_create_share_link(window, g.leader)
    return redirect(url_for("leader.share", window_id=window.id))


@bp.get("/windows/<int:window_id>/share.png")
@leader_required
def share_png(window_id: int):
    window, link = sharing.shared_window(g.leader, window_id)
    return _png(sharing.share_qr_png(link), f"group-buy-{window.id}-{link.slug}.png")


@bp.get("/windows/<int:window_id>/poster.png")
@leader_required
def share_poster(window_id: int):
    window, link = sharing.shared_window(g.leader, window_id)
    return _png(share_poster_service.poster_png(window, g.leader, link), f"group-buy-{window.id}-poster.png")


def _png(data: bytes, download_name: str):
    """An image of the leader's own link: shown inline, or saved with ?download=1; kept private."""
    response = send_file(
        io.BytesIO(data),
        mimetype="image/png",
        as_attachment=request.args.get("download") == "1",
        download_name=download_name,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
