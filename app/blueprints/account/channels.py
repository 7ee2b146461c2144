"""Group-chat robots and webhooks: list, add, remove, send a test, and see each delivery."""

from flask import flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from app.blueprints.access import login_required
from app.blueprints.account import bp
from app.services.core.errors import ValidationFailed
from app.services.notify import channels as channel_service
from app.services.notify import email_channel, push


class ChannelForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=60)], description=_l("e.g. 阳光小区 1 群"))
    kind = SelectField(_l("Kind"), choices=[(k, label) for k, label in channel_service.KIND_LABELS.items()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not email_channel.enabled():  # offered only where the operator set up SMTP
            self.kind.choices = [(k, label) for k, label in self.kind.choices if k != email_channel.KIND]

    url = StringField(
        _l("Robot address (webhook URL) or email address"),
        validators=[DataRequired(), Length(max=500)],
        description=_l("Copy it from the group's robot settings; for email, the address to send to."),
    )
    secret = PasswordField(
        _l("Signing secret"),
        validators=[Length(max=200)],
        description=_l('DingTalk: the "加签" secret, if the robot uses it. Webhook: at least 16 characters.'),
    )
    events = SelectMultipleField(
        _l("Send these notifications"),
        choices=[(k, label) for k, label in channel_service.EVENTS.items()],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validate_choice=False,  # the service checks every value and says which field is wrong
    )


def _page(form: ChannelForm, status: int = 200):
    response = make_response(
        render_template(
            "account/channels.html",
            form=form,
            channels=channel_service.list_channels(current_user),
            devices=push.devices(current_user),
            deliveries=channel_service.recent_deliveries(current_user),
            kind_labels=channel_service.KIND_LABELS,
            event_labels=channel_service.EVENTS,
        ),
        status,
    )
    response.headers["Cache-Control"] = "no-store"  # the form may carry a secret
    return response


@bp.get("/channels")
@login_required
def channels():
    return _page(ChannelForm(formdata=None, data={"events": list(channel_service.EVENTS)}))


@bp.post("/channels")
@login_required
def create_channel():
    form = ChannelForm()
    if form.validate():
        data = channel_service.ChannelInput(
            name=form.name.data,
            kind=form.kind.data,
            url=form.url.data,
            secret=form.secret.data or "",
            events=list(form.events.data or []),
        )
        try:
            channel = channel_service.create_channel(current_user, data)
        except ValidationFailed as exc:
            for name, message in exc.fields.items():
                getattr(form, name).errors = [*getattr(form, name).errors, message]
            if not exc.fields:
                flash(exc.message, "error")
        else:
            flash(_("Channel %(name)s added.", name=channel.name), "success")
            return redirect(url_for("account.channels"))
    return _page(form, status=422)


@bp.post("/channels/<int:channel_id>/remove")
@login_required
def remove_channel(channel_id: int):
    channel_service.remove_channel(current_user, channel_id)
    flash(_("Channel removed."), "success")
    return redirect(url_for("account.channels"))


@bp.post("/channels/test")
@login_required
def test_channels():
    channel_service.send_test(current_user)
    flash(_("Test message queued: it reaches your channels within a minute."), "success")
    return redirect(url_for("account.channels"))
