"""The leader's bottom tab bar: Today, Orders, Counter, Me, with their counts. A template global
for every blueprint, because the counter (the pickup blueprint) shows it to leaders too."""

from __future__ import annotations

from flask import g, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.permissions import leader_of
from app.services.leader import leader_today


def leader_tabs() -> list[tuple[str, str, str, str, int]]:
    """(key, label, href, icon, badge) per tab; the counts are read once per request."""
    if "leader_tab_badges" not in g:
        leader = g.get("leader") or leader_of(current_user)
        g.leader_tab_badges = leader_today.tab_badges(leader, current_user.id) if leader else {}
    badges = g.leader_tab_badges
    return [
        ("today", _("Today"), url_for("leader.index"), "today", 0),
        ("orders", _("Orders"), url_for("leader.orders"), "orders", badges.get("orders", 0)),
        ("counter", _("Counter"), url_for("pickup.counter"), "counter", 0),
        ("me", _("Me"), url_for("leader.me"), "me", badges.get("me", 0)),
    ]
