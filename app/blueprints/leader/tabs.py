"""The leader's bottom tab bar: Today, Orders, Counter, Me, with their counts. A template global
for every blueprint, because the counter (the pickup blueprint) shows it to leaders too."""

from __future__ import annotations

from flask import g, url_for
from flask_babel import gettext as _
from flask_login import current_user
from jinja2 import pass_context

from app.permissions import leader_of
from app.services.leader import leader_today


@pass_context
def leader_tabs(context) -> list[tuple[str, str, str, str, int]]:
    """(key, label, href, icon, badge) per tab. The counts are read once per request, and not at
    all where the page already read them (Today, Me: `g.leader_tab_badges`)."""
    if "leader_tab_badges" not in g:
        leader = g.get("leader") or leader_of(current_user)
        unread = context.get("unread_notifications", 0)
        g.leader_tab_badges = leader_today.tab_badges(leader, unread) if leader else {}
    badges = g.leader_tab_badges
    return [
        ("today", _("Today"), url_for("leader.index"), "today", 0),
        ("orders", _("Orders"), url_for("leader.orders"), "orders", badges.get("orders", 0)),
        ("counter", _("Counter"), url_for("pickup.counter"), "counter", 0),
        ("me", _("Me"), url_for("leader.me"), "me", badges.get("me", 0)),
    ]
