"""Personal API tokens: list, create (the plain value is shown once) and revoke."""

from flask import flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app.blueprints.access import login_required
from app.blueprints.account import bp
from app.services.accounts import tokens as token_service
from app.services.core.errors import ValidationFailed


class TokenForm(FlaskForm):
    name = StringField(
        _l("Token name"),
        validators=[DataRequired(), Length(max=80)],
        description=_l('Where it is used, e.g. "Counter scanner".'),
    )


def _page(form: TokenForm, *, plain: str | None = None, status: int = 200):
    response = make_response(
        render_template("account/tokens.html", form=form, tokens=token_service.list_tokens(current_user), plain=plain),
        status,
    )
    # The page may carry a freshly created secret: keep it out of every cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/tokens")
@login_required
def tokens():
    return _page(TokenForm(formdata=None))


@bp.post("/tokens")
@login_required
def create_token():
    form = TokenForm()
    if form.validate():
        try:
            token, plain = token_service.create_token(current_user, form.name.data)
        except ValidationFailed as exc:
            form.name.errors = [*form.name.errors, *exc.fields.values()]
        else:
            flash(_("Token %(name)s created. Copy it now: it will not be shown again.", name=token.name), "success")
            return _page(TokenForm(formdata=None), plain=plain)
    return _page(form, status=422)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    token_service.revoke_token(current_user, token_id)
    flash(_("Token revoked."), "success")
    return redirect(url_for("account.tokens"))
