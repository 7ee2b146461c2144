"""Domain exceptions. Views turn them into a form error or a JSON 4xx; none is ever a 500."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    status = 400
    code = "bad_request"
    default_message = _l("The request could not be processed.")

    def __init__(self, message=None, *, fields: dict | None = None, **context):
        self.message = str(message or self.default_message)
        self.fields = {k: str(v) for k, v in (fields or {}).items()}
        self.context = context
        super().__init__(self.message)

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        body.update({k: v for k, v in self.context.items() if v is not None})
        return {"error": body}


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"
    default_message = _l("Please correct the highlighted fields.")


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = _l("Not found.")


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"
    default_message = _l("You do not have permission to do that.")


class Conflict(DomainError):
    status = 409
    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_message = _l("That action is not possible in the current state.")


class WindowClosed(Conflict):
    code = "window_closed"
    default_message = _l("This group buy is not taking orders.")


class OutOfStock(Conflict):
    code = "out_of_stock"
    default_message = _l("Sorry, not enough stock left.")


class OverLimit(Conflict):
    code = "over_limit"
    default_message = _l("That is more than one customer may buy.")


class CapacityFull(Conflict):
    code = "capacity_full"
    default_message = _l("This pickup point is full for this group buy; choose another.")


class LeaderQuotaReached(Conflict):
    code = "leader_quota_reached"
    default_message = _l("This community has used up its share of this product in this group buy.")


class PricesFrozen(Conflict):
    code = "prices_frozen"
    default_message = _l("This group buy has orders; prices and items can no longer change.")


class InvalidCode(DomainError):
    status = 404
    code = "invalid_code"
    default_message = _l("No live pickup code matches at this pickup point.")


class NotArrived(Conflict):
    code = "not_arrived"
    default_message = _l("The goods for this order have not arrived yet.")


class AlreadyRedeemed(Conflict):
    code = "already_redeemed"
    default_message = _l("This code was already redeemed.")


class NotYourPickupPoint(DomainError):
    """The user neither staffs nor leads the pickup point named in the request. (A code of another
    point is answered as InvalidCode, so a guesser learns nothing about other points' codes.)"""

    status = 404
    code = "not_your_pickup_point"
    default_message = _l("You do not work at this pickup point.")


class BadSignature(DomainError):
    status = 400
    code = "bad_signature"
    default_message = _l("The signature does not verify.")


class AmountMismatch(DomainError):
    status = 400
    code = "amount_mismatch"
    default_message = _l("The amount paid does not match the order total.")


class RefundTooLarge(Conflict):
    code = "refund_too_large"
    default_message = _l("A refund cannot exceed what was paid.")


class CodeEntryLocked(DomainError):
    status = 429
    code = "code_entry_locked"
    default_message = _l("Too many wrong codes: code entry is locked for a while.")


class IdempotencyKeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"
    default_message = _l("This request key was already used for a different hand-over; look the code up again.")


class PreviewExpired(Conflict):
    code = "preview_expired"
    default_message = _l("This preview is too old to confirm; look the code up again.")
