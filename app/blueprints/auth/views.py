from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.auth import bp
from app.blueprints.auth.forms import LoginForm
from app.blueprints.auth.limits import (
    deduct_wrong_password,
    is_known_device,
    note_wrong_password,
    posted_account_key,
    remember_device,
)
from app.blueprints.auth.signin import sign_in, sign_out
from app.extensions import limiter
from app.permissions import roles_of
from app.services.accounts.accounts import authenticate, set_locale


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    # Only same-site paths: no scheme, no host, no protocol-relative "//evil".
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def home_for(user) -> str:
    roles = roles_of(user)
    if "admin" in roles:
        return url_for("admin.index")
    if "merchant" in roles:
        return url_for("merchant.index")
    if "leader" in roles:
        return url_for("leader.index")
    if "staff" in roles:
        return url_for("pickup.counter")
    return url_for("account.notifications")


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"], deduct_when=deduct_wrong_password)
@limiter.limit(
    lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"],
    methods=["POST"],
    key_func=posted_account_key,
    deduct_when=deduct_wrong_password,
    exempt_when=is_known_device,
)
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.login.data, form.password.data)
        if user is not None:
            sign_in(user, remember=form.remember.data)
            response = redirect(_safe_next(request.args.get("next")) or home_for(user))
            return remember_device(response, user.id)
        note_wrong_password()
        form.password.errors.append(_("Wrong mobile number, email or password."))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    sign_out()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>", methods=["GET", "POST"])
def set_language(code: str):
    """The 中文/EN switch: a cookie for this browser; a signed-in user's POST (CSRF-checked)
    also saves it on the account, so pushes, mails and the centre follow the choice."""
    response = redirect(_safe_next(request.args.get("next")) or url_for("auth.index"))
    if code in ("zh", "en"):
        response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
        if request.method == "POST" and current_user.is_authenticated:
            set_locale(current_user, code)
    return response
