"""Admin forms. They only bound lengths; the account services check the rest, so every
problem with a submission is reported at once."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import AnyOf, Length, Optional


class _PersonFields(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=80)])
    phone = StringField(_l("Mobile number"), validators=[Optional(), Length(max=20)])
    email = StringField(_l("Email"), validators=[Optional(), Length(max=254)])
    password = PasswordField(_l("Initial password"), validators=[Length(max=128)])


class MerchantForm(_PersonFields):
    merchant_name = StringField(_l("Merchant name"), validators=[Length(max=120)])


class LeaderForm(_PersonFields):
    community_name = StringField(_l("Community name"), validators=[Length(max=120)])


class StaffForm(_PersonFields):
    pass


class ActiveForm(FlaskForm):
    active = HiddenField(validators=[AnyOf(["0", "1"])])
