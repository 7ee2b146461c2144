"""Pydantic models of the platform endpoints, and the base every API model builds on."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class ApiModel(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# What a counter accepts as a pickup code: the 8 digits (spaces or dashes between them are
# ignored) or the signed QR text. The pattern is stated for clients; the service enforces it
# (services/counter/code_lookup.py) rather than pydantic, so that a malformed code is audited like every
# other attempt at the counter.
PICKUP_CODE_PATTERN = r"^(?:(?:[0-9][\s-]*){7}[0-9]|GB1\.\S+)$"
PickupCodeText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=300,
        description="The 8-digit pickup code (spaces or dashes between digits are ignored) or the scanned "
        "QR text (GB1.…). Anything else is refused as malformed (422 on `code`) and the attempt is audited.",
        json_schema_extra={"pattern": PICKUP_CODE_PATTERN},
    ),
]


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable error code, e.g. validation_failed.")
    message: str = Field(description="Human-readable message in the user's language.")
    fields: dict[str, str] | None = Field(
        default=None, description="Field path (dotted, e.g. items.0.quantity) to the problem with it."
    )


class ErrorResponse(BaseModel):
    """Every 4xx and 5xx answer of the API has this shape."""

    error: ErrorDetail


class Me(BaseModel):
    id: int
    name: str
    locale: str | None = Field(description="Preferred interface language, or null for the browser's.")
    roles: list[Literal["admin", "merchant", "leader", "staff"]]
    pickup_point_ids: list[int] = Field(description="Pickup points where this user may redeem codes.")


class LocaleIn(ApiModel):
    locale: Literal["zh", "en"]


class OrderLineOut(BaseModel):
    """One line of an order, as every order-returning endpoint shows it."""

    window_item_id: int
    product_id: int
    name: str
    spec: str
    unit_price_fen: int
    quantity: int
    shortage_qty: int
    status: str

    @classmethod
    def of(cls, item) -> OrderLineOut:
        return cls(
            window_item_id=item.window_item_id,
            product_id=item.product_id,
            name=item.product_name,
            spec=item.product_spec,
            unit_price_fen=item.unit_price_fen,
            quantity=item.quantity,
            shortage_qty=item.shortage_qty,
            status=item.status,
        )
