"""Finance: the refund ledger (every refund, its reason, paid back or still to pay by hand)."""

from __future__ import annotations

from flask import g, render_template, request

from app.blueprints.access import merchant_area_required
from app.blueprints.merchant import bp
from app.services.orders import refund_ledger


@bp.get("/finance/refunds")
@merchant_area_required("finance")
def finance_refunds():
    status = request.args.get("status") if request.args.get("status") in ("pending", "succeeded") else None
    page_arg = request.args.get("page", "1")
    page = int(page_arg) if page_arg.isdigit() and len(page_arg) <= 6 else 1
    return render_template(
        "merchant/finance/refunds.html",
        page=refund_ledger.refunds(g.merchant.id, status=status, page=page),
        totals=refund_ledger.totals(g.merchant.id),
        status=status,
    )
