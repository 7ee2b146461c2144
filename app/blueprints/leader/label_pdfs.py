"""Printable labels of the leader's batches: a PDF the phone opens or a counter PC prints."""

from __future__ import annotations

from flask import g, request

from app.blueprints.access import leader_required
from app.blueprints.leader import bp
from app.services.deliveries import labels


@bp.get("/batches/<int:batch_id>/labels.pdf")
@leader_required
def batch_labels(batch_id: int):
    path = labels.leader_batch_labels(g.leader.id, batch_id, request.args.get("layout"))
    return labels.inline_pdf(path.read_bytes(), path.name)
