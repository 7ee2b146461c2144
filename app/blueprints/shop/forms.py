"""The order form. Quantities are one `qty-<window item id>` input per item, parsed by the view;
every rule lives in app.services.orders.ordering, so the form only carries the fields and CSRF."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField


class OrderForm(FlaskForm):
    customer_name = StringField(_l("Your name"))
    customer_phone = StringField(_l("Mobile number"))
    pickup_point_id = StringField(_l("Pickup point"))
    payment_provider = StringField(_l("Payment method"))


class ActionForm(FlaskForm):
    """A button that changes something: CSRF only."""
