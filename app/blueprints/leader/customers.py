"""The leader's customers: a searchable list with masked phones and an audited tap-to-call."""

from flask import g, redirect, render_template, request
from flask_login import current_user

from app.blueprints.access import leader_required
from app.blueprints.leader import bp
from app.blueprints.leader.forms import PlainForm
from app.services.leader import leader_customers


@bp.get("/customers")
@leader_required
def customers():
    query = request.args.get("q", "")[:40]
    page = request.args.get("page", 1, type=int) or 1
    rows, total = leader_customers.list_customers(g.leader, query=query, page=page)
    return render_template(
        "leader/customers.html",
        customers=rows,
        total=total,
        query=query,
        page=page,
        pages=max(1, -(-total // leader_customers.PAGE_SIZE)),
        form=PlainForm(),
    )


@bp.post("/customers/call/<int:order_id>")
@leader_required
def customer_call(order_id: int):
    # CSRFProtect has checked the token; the number leaves the server only for this call.
    phone = leader_customers.reveal_phone(g.leader, current_user, order_id)
    return redirect(f"tel:{phone}", code=303)
