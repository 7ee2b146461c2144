"""Leader forms. They bound presence, lengths and numbers; the services hold the real rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, ValidationError

from app.services.core.checks import has_control_chars
from app.services.pickup.points import MAX_CAPACITY


def strip(value):
    return value.strip() if isinstance(value, str) else value


def no_control_chars(form, field):  # noqa: ARG001
    if isinstance(field.data, str) and has_control_chars(field.data):
        raise ValidationError(_l("Remove the control characters."))


class PointForm(FlaskForm):
    name = StringField(_l("Name"), filters=[strip], validators=[InputRequired(), Length(max=80), no_control_chars])
    address = StringField(
        _l("Address"), filters=[strip], validators=[InputRequired(), Length(max=200), no_control_chars]
    )
    contact_phone = StringField(
        _l("Contact phone"), filters=[strip], validators=[InputRequired(), Length(max=20), no_control_chars]
    )
    opening_hours = StringField(_l("Opening hours"), filters=[strip], validators=[Length(max=80), no_control_chars])
    capacity = IntegerField(
        _l("Capacity (orders per group buy)"),
        default=200,
        validators=[InputRequired(), NumberRange(1, MAX_CAPACITY)],
    )
    active = BooleanField(_l("Active (customers can choose it)"), default=True)


class StaffForm(FlaskForm):
    phone = StringField(
        _l("Mobile number of an existing user"),
        filters=[strip],
        validators=[InputRequired(), Length(max=20), no_control_chars],
    )


class PlainForm(FlaskForm):
    """A form with nothing but its CSRF token, for buttons that post."""


def apply_errors(form, fields: dict[str, str]) -> list[str]:
    """Attach service field errors to the form's fields; return the ones no field owns."""
    leftover = []
    for key, message in fields.items():
        field = form._fields.get(key)
        if field is None:
            leftover.append(message)
        else:
            field.errors = [*field.errors, message]
    return leftover
