"""Pydantic models of the merchant API: products, stock, and group-buy windows.

Numbers are strict (a JSON string or a float is not an integer, so "12.5" yuan typed into a
fen field is refused rather than truncated), and times must carry their offset: a naive time
would be read in some zone the client never meant.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from flask_babel import gettext as _
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt
from pydantic_core import PydanticCustomError

from app.blueprints.api.schemas import ApiModel
from app.models.windows import WINDOW_STATUSES
from app.services.catalog.catalog import MAX_ADD_STOCK, MAX_PRICE_FEN, MAX_STOCK
from app.services.windows.window_editing import MAX_ITEM_NUMBER

MAX_WINDOW_ITEMS = 200  # as many item rows as the HTML form takes
MAX_LEADER_IDS = 500
# Far outside any real group buy, well inside what every engine and zone conversion can hold.
FIRST_YEAR, LAST_YEAR = 2000, 2199


def _iso_datetime(value):
    message = _("Enter a date and time in ISO 8601 with an offset, e.g. 2026-11-22T10:00:00+08:00.")
    if not isinstance(value, str) or len(value) > 40:
        raise PydanticCustomError("datetime_iso", message)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("datetime_iso", message) from None
    if parsed.tzinfo is None:
        raise PydanticCustomError("datetime_naive", _("Add the time zone offset, e.g. +08:00 or Z."))
    try:
        utc = parsed.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not FIRST_YEAR <= utc.year <= LAST_YEAR:
        raise PydanticCustomError("datetime_range", _("Enter a time from %(a)d to %(b)d.", a=FIRST_YEAR, b=LAST_YEAR))
    return utc


def _iso_date(value):
    message = _("Enter a date as YYYY-MM-DD.")
    if not isinstance(value, str) or len(value) != 10:
        raise PydanticCustomError("date_iso", message)
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("date_iso", message) from None
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise PydanticCustomError("date_range", _("Enter a date from %(a)d to %(b)d.", a=FIRST_YEAR, b=LAST_YEAR))
    return parsed


def _blank_is_none(value):
    return None if value == "" else value


AwareTime = Annotated[
    datetime,
    BeforeValidator(_iso_datetime),
    Field(description="ISO 8601 with an offset (2026-11-22T10:00:00+08:00); answers are in UTC."),
]
Day = Annotated[date, BeforeValidator(_iso_date), Field(description="YYYY-MM-DD.")]
Id = Annotated[StrictInt, Field(ge=1, le=2**31 - 1)]
Fen = Annotated[StrictInt, Field(ge=0, le=MAX_PRICE_FEN, description="Integer fen (分): 100 fen = 1 yuan.")]
Units = Annotated[StrictInt, Field(ge=0, le=MAX_STOCK)]
ItemNumber = Annotated[StrictInt, Field(ge=1, le=MAX_ITEM_NUMBER)]
Page = Annotated[int, Field(default=1, ge=1, le=100_000)]
Name = Annotated[str, Field(min_length=1, max_length=120)]
Spec = Annotated[str, Field(max_length=60)]
Category = Annotated[str, Field(max_length=40)]


class _Query(BaseModel):
    """Query strings: unknown parameters (cache busters) are ignored."""

    model_config = ConfigDict(str_strip_whitespace=True)


# ---- products


class ProductsQuery(_Query):
    q: str = Field(default="", max_length=120, description="Substring of the name or category.")
    listed: Annotated[bool | None, BeforeValidator(_blank_is_none)] = Field(
        default=None, description="true: listed only; false: unlisted only; absent: both."
    )
    page: Page


class ProductIn(ApiModel):
    name: Name
    spec: Spec = ""
    category: Category = ""
    subcategory: Category = ""
    price_fen: Fen
    stock: Units = 0
    low_stock_threshold: Units = Field(default=0, description="A stock alert fires when stock falls to this.")
    listed: StrictBool = True


# Absent fields keep their value; a null is refused like any other wrong type.
class ProductPatch(ApiModel):
    name: Name = None
    spec: Spec = None
    category: Category = None
    subcategory: Category = None
    price_fen: Fen = None
    stock: Units = Field(default=None, description="The new absolute stock.")
    stock_seen: Units = Field(
        default=None,
        description="The stock you last read; with `stock`, the change applies only if stock is still "
        "this (orders may have taken some meanwhile), else 422 on `stock`. Without it `stock` is absolute.",
    )
    low_stock_threshold: Units = None
    listed: StrictBool = None


class StockAddIn(ApiModel):
    add: StrictInt = Field(ge=1, le=MAX_ADD_STOCK, description="Units received, added to the current stock.")


class StockOut(BaseModel):
    stock: int


class ListingIn(ApiModel):
    listed: StrictBool = Field(description="false hides the product from new windows; open windows keep it.")


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    spec: str
    category: str
    subcategory: str
    price_fen: int
    stock: int
    low_stock_threshold: int
    listed: bool
    stock_alert_open: bool = Field(description="Stock is at or below the threshold.")
    created_at: datetime
    updated_at: datetime


class ProductsPage(BaseModel):
    items: list[ProductOut]
    page: int
    pages: int
    total: int


# ---- windows


class WindowsQuery(_Query):
    status: Annotated[Literal[WINDOW_STATUSES] | None, BeforeValidator(_blank_is_none)] = None
    page: Page


class WindowItemIn(ApiModel):
    product_id: Id = Field(description="One of your listed products.")
    group_price_fen: Fen
    per_customer_limit: ItemNumber | None = None
    quota: ItemNumber | None = Field(default=None, description="Units this window may sell; null: stock only.")
    min_group_size: ItemNumber = Field(default=1, description="Paid orders needed for the item to go ahead.")


class WindowIn(ApiModel):
    title: Name
    opens_at: AwareTime
    closes_at: AwareTime
    pickup_date: Day
    all_leaders: StrictBool = True
    leader_ids: list[Id] = Field(
        default_factory=list, max_length=MAX_LEADER_IDS, description="With all_leaders false: who may sell it."
    )
    items: list[WindowItemIn] = Field(default_factory=list, max_length=MAX_WINDOW_ITEMS)


class WindowPatch(ApiModel):
    """Absent fields keep their value. An open window takes only `title` and a later `closes_at`."""

    title: Name = None
    opens_at: AwareTime = None
    closes_at: AwareTime = None
    pickup_date: Day = None
    all_leaders: StrictBool = None
    leader_ids: list[Id] = Field(default=None, max_length=MAX_LEADER_IDS)
    items: list[WindowItemIn] = Field(default=None, max_length=MAX_WINDOW_ITEMS, description="Replaces all items.")


class WindowSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    status: str
    opens_at: datetime
    closes_at: datetime
    pickup_date: date
    all_leaders: bool
    closed_at: datetime | None
    created_at: datetime


class WindowItemOut(BaseModel):
    id: int
    product_id: int
    name: str
    spec: str
    group_price_fen: int
    per_customer_limit: int | None
    quota: int | None
    per_leader_quota: int | None = Field(
        description="Units each leader's community may buy (null: no cap); set on the merchant web page, "
        "where single leaders may also get their own quota."
    )
    min_group_size: int
    sold: int = Field(description="Units reserved by live orders.")
    paid_orders: int = Field(description="Paid orders containing it; what counts towards min_group_size.")
    status: str = Field(description="open, succeeded or failed (minimum group not reached).")


class ShareLinkOut(BaseModel):
    leader_id: int
    slug: str


class BatchRef(BaseModel):
    id: int
    pickup_point_id: int
    status: str


class WindowDetail(WindowSummary):
    leader_ids: list[int] = Field(description="Chosen leaders; empty when all_leaders.")
    has_orders: bool = Field(description="Once true, items and prices are frozen.")
    items: list[WindowItemOut]
    share_links: list[ShareLinkOut]
    batches: list[BatchRef]


class WindowsPage(BaseModel):
    items: list[WindowSummary]
    page: int
    pages: int
    total: int
