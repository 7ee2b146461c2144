"""Counter forms: the code entry (typed or scanned) and the confirm button of a preview."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange


class CodeForm(FlaskForm):
    point_id = SelectField(_l("Pickup point"), coerce=int, validate_choice=False)  # the service checks (and audits) it
    code = StringField(
        _l("Pickup code"), validators=[InputRequired(_l("Type the 8-digit code or scan the QR code.")), Length(max=300)]
    )


class RedeemForm(FlaskForm):
    point_id = IntegerField(validators=[InputRequired(), NumberRange(1, 2**31 - 1)])
    code_id = IntegerField(validators=[InputRequired(), NumberRange(1, 2**31 - 1)])
    idempotency_key = HiddenField(validators=[InputRequired(), Length(min=8, max=64)])
    # Proof of the code from the preview; a missing one is refused (and audited) by the service.
    redeem_token = HiddenField(validators=[Length(max=300)])


class PhoneTailForm(FlaskForm):
    """A customer without their code: the last four digits of their phone."""

    point_id = IntegerField(validators=[InputRequired(), NumberRange(1, 2**31 - 1)])
    tail = StringField(
        _l("Last 4 digits of the phone"),
        validators=[InputRequired(_l("Type the last 4 digits of the customer's phone.")), Length(max=4)],
    )
