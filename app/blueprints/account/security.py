"""Password and sign-ins: change the password (other browsers are signed out), or sign out
every other browser without changing it."""

from flask import current_app, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from app.blueprints.access import login_required
from app.blueprints.account import bp
from app.blueprints.auth.limits import deduct_wrong_password, note_wrong_password, own_account_key
from app.blueprints.auth.signin import current_key
from app.extensions import limiter
from app.services.accounts import accounts, sessions
from app.services.core.errors import ValidationFailed


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=128)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=128)])
    new_password_again = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), Length(max=128), EqualTo("new_password", message=_l("The two passwords differ."))],
    )


def _page(form: PasswordForm, status: int = 200):
    response = make_response(
        render_template("account/security.html", form=form, signed_in=sessions.count_for(current_user.id)), status
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/security")
@login_required
def security():
    return _page(PasswordForm(formdata=None))


@bp.post("/password")
@login_required
# Someone holding a signed-in browser must not get unlimited guesses at the password.
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=own_account_key, deduct_when=deduct_wrong_password
)
def change_password():
    form = PasswordForm()
    if form.validate():
        try:
            accounts.change_password(
                current_user, form.current_password.data, form.new_password.data, keep_session=current_key()
            )
        except ValidationFailed as exc:
            if "current_password" in exc.fields:
                note_wrong_password()
            for name, message in exc.fields.items():
                getattr(form, name).errors = [*getattr(form, name).errors, message]
        else:
            flash(_("Password changed. Every other browser signed in to your account was signed out."), "success")
            return redirect(url_for("account.security"), code=303)
    return _page(form, 422)


@bp.post("/sessions/end-others")
@login_required
def end_other_sessions():
    accounts.end_other_sessions(current_user, keep_session=current_key())
    flash(_("Every other browser signed in to your account was signed out."), "success")
    return redirect(url_for("account.security"), code=303)
