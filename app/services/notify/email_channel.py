"""Notifications by email over SMTP: the optional channel beside robots, webhooks and push.

The SMTP server is the operator's (SMTP_HOST, SMTP_PORT, SMTP_USER/SMTP_PASSWORD, SMTP_STARTTLS,
MAIL_FROM), never a user's, so the address check of webhooks does not apply; users only choose
the recipient address. A mail goes to its owner's own mailbox, so it is written in the owner's
language. Without SMTP_HOST the kind is not offered.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from app.services.notify import webhook_formats

KIND = "email"
ADDRESS_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
TIMEOUT_S = 10


def enabled() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


def valid_address(address: str) -> bool:
    return len(address) <= 254 and bool(ADDRESS_RE.match(address))


def build(to: str, message: webhook_formats.Message, locale: str | None) -> EmailMessage:
    """The mail for one delivery: plain text, the link on its own line, a stable Message-ID so a
    receiving server that sees a retried delivery twice can tell."""
    mail = EmailMessage()
    mail["From"] = current_app.config["MAIL_FROM"]
    mail["To"] = to
    mail["Subject"] = message.title[:200]
    mail["Date"] = formatdate(localtime=False)
    domain = current_app.config["MAIL_FROM"].rsplit("@", 1)[-1].strip("> ") or "localhost"
    mail["Message-ID"] = make_msgid(idstring=f"delivery-{message.delivery_id}", domain=domain)
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        footer = _("You get this because this address is a notification channel of your GroupBuy account.")
        view = _("View")
    lines = [message.body] if message.body else []
    if message.link:
        lines.append(f"{view}: {message.link}")
    lines += ["", "--", footer]
    mail.set_content("\n".join(lines))
    return mail


def send(mail: EmailMessage) -> tuple[bool, int | None, str, bool]:
    """(accepted, SMTP reply code, reason, the address is refused for good)."""
    config = current_app.config
    try:
        with smtplib.SMTP(config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=TIMEOUT_S) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if config.get("SMTP_USER"):
                smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
            smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as exc:
        code, answer = next(iter(exc.recipients.values()), (None, b""))
        permanent = code is not None and 500 <= code < 600
        return False, code, f"recipient refused: {code} {answer!r}"[:300], permanent
    except smtplib.SMTPResponseException as exc:
        return False, exc.smtp_code, f"{exc.smtp_code} {exc.smtp_error!r}"[:300], False
    except (OSError, smtplib.SMTPException) as exc:  # refused, timed out, TLS failure
        return False, None, f"{exc.__class__.__name__}: {exc}"[:300], False
    return True, 250, "", False
