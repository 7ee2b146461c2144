"""Payment providers behind one small interface, looked up by the name stored on the order.

`simulator` stands in for an online gateway (a page with Pay/Cancel and a signed webhook);
`offline` is the group-chat habit of paying the leader directly, recorded by the leader.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Protocol

from flask import current_app, url_for
from flask_babel import gettext as _

from app.models import Order, Payment
from app.services.core.errors import ValidationFailed

SIGNATURE_PREFIX = "sha256="


class PaymentProvider(Protocol):
    name: str

    def start(self, order: Order) -> str | None:
        """Where to send the customer to pay, or None when payment happens outside the app."""

    def refund(self, payment: Payment, amount_fen: int) -> str:
        """Return "succeeded" when the money went back, "pending" when a person must return it."""


class SimulatorProvider:
    name = "simulator"

    def start(self, order: Order) -> str | None:
        return url_for("payments.simulator", token=order.access_token)

    def refund(self, payment: Payment, amount_fen: int) -> str:  # noqa: ARG002 - the stand-in always pays back
        return "succeeded"


class OfflineProvider:
    name = "offline"

    def start(self, order: Order) -> str | None:  # noqa: ARG002 - the customer pays the leader in the chat
        return None

    def refund(self, payment: Payment, amount_fen: int) -> str:  # noqa: ARG002 - the leader hands cash back
        return "pending"


_REGISTRY: dict[str, PaymentProvider] = {p.name: p for p in (SimulatorProvider(), OfflineProvider())}


def enabled_names() -> list[str]:
    """Providers this deployment offers customers, in the configured order."""
    configured = [name.strip() for name in current_app.config.get("PAYMENT_PROVIDERS", []) if name.strip()]
    return [name for name in configured if name in _REGISTRY]


def get_provider(name: str) -> PaymentProvider:
    """A registered provider by name, whether or not it is still offered to new orders."""
    provider = _REGISTRY.get(name)
    if provider is None:
        raise ValidationFailed(fields={"payment_provider": _("Unknown payment method.")})
    return provider


def sign_simulator_body(raw_body: bytes) -> str:
    """The X-Simulator-Signature header value the simulated gateway sends with a webhook."""
    secret = current_app.config["PAYMENT_WEBHOOK_SECRET"].encode()
    return SIGNATURE_PREFIX + hmac.new(secret, raw_body, hashlib.sha256).hexdigest()


def simulator_signature_ok(raw_body: bytes, signature: str | None) -> bool:
    if not signature or not signature.startswith(SIGNATURE_PREFIX):
        return False
    return hmac.compare_digest(sign_simulator_body(raw_body).encode(), signature.strip().encode())
