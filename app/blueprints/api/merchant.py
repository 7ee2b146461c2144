"""Merchant API: the catalogue (products, stock, listing) and group-buy windows.

Everything is scoped to the caller's merchant (g.merchant, set by api_role("merchant")), so
another merchant's product or window id answers 404. The rules live in app.services.catalog.catalog,
app.services.windows.windows and app.services.windows.window_editing; these views only translate.
"""

from __future__ import annotations

import re
from contextlib import contextmanager

from flask import g
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.api import bp
from app.blueprints.api.common import api_role, document, parse, parse_query, respond
from app.blueprints.api.merchant_schemas import (
    BatchRef,
    ListingIn,
    ProductIn,
    ProductOut,
    ProductPatch,
    ProductsPage,
    ProductsQuery,
    ShareLinkOut,
    StockAddIn,
    StockOut,
    WindowDetail,
    WindowIn,
    WindowItemIn,
    WindowItemOut,
    WindowPatch,
    WindowsPage,
    WindowsQuery,
    WindowSummary,
)
from app.models import Product, Window
from app.services.catalog import catalog
from app.services.core import audit
from app.services.core.errors import ValidationFailed
from app.services.windows import window_editing as editing
from app.services.windows import windows as window_service

TAGS = ["merchant"]
PRODUCT_FIELDS = ("name", "spec", "category", "subcategory", "price_fen", "stock", "low_stock_threshold", "listed")
AMENDABLE_WHEN_OPEN = {"title", "closes_at"}
# The services name fields as the HTML forms do; the API names them as its bodies do.
_SERVICE_FIELDS = {"price": "price_fen", "quantity": "add", "group_price": "group_price_fen"}
_ROW_FIELD = re.compile(r"^items-(\d+)-(\w+)$")


def _api_field(name: str) -> str:
    if match := _ROW_FIELD.match(name):
        return f"items.{match.group(1)}.{_SERVICE_FIELDS.get(match.group(2), match.group(2))}"
    return _SERVICE_FIELDS.get(name, name)


@contextmanager
def _api_field_names():
    try:
        yield
    except ValidationFailed as exc:
        fields = {_api_field(name): message for name, message in exc.fields.items()}
        raise ValidationFailed(exc.message, fields=fields) from None


def _actor() -> str:
    return audit.actor_for(current_user)


def _product_out(product: Product) -> ProductOut:
    return ProductOut.model_validate(product)


# ---- products


@bp.get("/merchant/products")
@document(
    summary="The merchant's products, searched and filtered (50 per page)",
    query=ProductsQuery,
    response=ProductsPage,
    tags=TAGS,
)
@api_role("merchant:products")
def merchant_products_list():
    query = parse_query(ProductsQuery)
    page = catalog.list_products(g.merchant.id, query=query.q, listed=query.listed, page=query.page)
    items = [_product_out(p) for p in page.items]
    return respond(ProductsPage(items=items, page=page.page, pages=page.pages, total=page.total))


@bp.post("/merchant/products")
@document(summary="Add a product to the catalogue", request=ProductIn, response=ProductOut, tags=TAGS, status=201)
@api_role("merchant:products")
def merchant_product_create():
    data = parse(ProductIn)
    with _api_field_names():
        product = catalog.create_product(g.merchant, **data.model_dump(), actor=_actor())
    return respond(_product_out(product), status=201)


@bp.get("/merchant/products/<int:product_id>")
@document(summary="One of the merchant's products", response=ProductOut, tags=TAGS, errors=(404,))
@api_role("merchant:products")
def merchant_product_get(product_id: int):
    return respond(_product_out(catalog.get_product(g.merchant.id, product_id)))


def _patched_product(product: Product, data: ProductPatch) -> dict:
    """The full set of values update_product takes: given fields over the current ones."""
    given = data.model_fields_set
    if "stock_seen" in given and "stock" not in given:
        raise ValidationFailed(fields={"stock_seen": _("Send stock_seen together with stock.")})
    values = {name: getattr(data if name in given else product, name) for name in PRODUCT_FIELDS}
    # Without a new stock, stock_seen == stock tells the service to leave stock alone, so
    # units sold while this request ran are not written back.
    values["stock_seen"] = data.stock_seen if "stock" in given else product.stock
    return values


@bp.patch("/merchant/products/<int:product_id>")
@document(
    summary="Change some of a product's fields",
    request=ProductPatch,
    response=ProductOut,
    tags=TAGS,
    errors=(404,),
    description="Only the fields sent change. Send `stock_seen` with `stock` so sales made since you "
    "read the product are not overwritten (422 on `stock` if they were).",
)
@api_role("merchant:products")
def merchant_product_update(product_id: int):
    product = catalog.get_product(g.merchant.id, product_id)
    data = parse(ProductPatch)
    if data.model_fields_set:
        with _api_field_names():
            product = catalog.update_product(product, **_patched_product(product, data), actor=_actor())
    return respond(_product_out(product))


@bp.post("/merchant/products/<int:product_id>/stock")
@document(
    summary="Receive goods: add units to a product's stock",
    request=StockAddIn,
    response=StockOut,
    tags=TAGS,
    errors=(404,),
    description="Added in one UPDATE, so it never races with orders taking stock.",
)
@api_role("merchant:products")
def merchant_product_add_stock(product_id: int):
    product = catalog.get_product(g.merchant.id, product_id)
    data = parse(StockAddIn)
    with _api_field_names():
        stock = catalog.add_stock(product, data.add, actor=_actor())
    return respond(StockOut(stock=stock))


@bp.post("/merchant/products/<int:product_id>/listing")
@document(
    summary="List or unlist a product",
    request=ListingIn,
    response=ProductOut,
    tags=TAGS,
    errors=(404,),
)
@api_role("merchant:products")
def merchant_product_set_listing(product_id: int):
    product = catalog.get_product(g.merchant.id, product_id)
    data = parse(ListingIn)
    return respond(_product_out(catalog.set_listed(product, data.listed, actor=_actor())))


# ---- windows


def _window_out(window: Window) -> WindowDetail:
    detail = window_service.window_detail(window)
    return WindowDetail(
        **WindowSummary.model_validate(window).model_dump(),
        leader_ids=window_service.chosen_leader_ids(window),
        has_orders=detail["has_orders"],
        items=[
            WindowItemOut(
                id=item.id,
                product_id=item.product_id,
                name=item.product.name,
                spec=item.product.spec,
                group_price_fen=item.group_price_fen,
                per_customer_limit=item.per_customer_limit,
                quota=item.quota,
                per_leader_quota=item.per_leader_quota,
                min_group_size=item.min_group_size,
                sold=item.sold,
                paid_orders=paid_orders,
                status=item.status,
            )
            for item, paid_orders in detail["items"]
        ],
        share_links=[ShareLinkOut(leader_id=link.leader_id, slug=link.slug) for link in detail["share_links"]],
        batches=[BatchRef(id=b.id, pickup_point_id=b.pickup_point_id, status=b.status) for b in detail["batches"]],
    )


def _item_inputs(items: list[WindowItemIn]) -> list[editing.ItemInput]:
    return [editing.ItemInput(**item.model_dump(), row=index) for index, item in enumerate(items)]


def _leader_ids(all_leaders: bool, leader_ids: list[int]) -> list[int]:
    if all_leaders and leader_ids:
        raise ValidationFailed(fields={"leader_ids": _("Choose leaders only with all_leaders false.")})
    return leader_ids


@bp.get("/merchant/windows")
@document(
    summary="The merchant's group buys, latest opening first (50 per page)",
    query=WindowsQuery,
    response=WindowsPage,
    tags=TAGS,
)
@api_role("merchant:windows")
def merchant_windows_list():
    query = parse_query(WindowsQuery)
    page = window_service.list_windows(g.merchant.id, status=query.status, page=query.page)
    items = [WindowSummary.model_validate(w) for w in page.items]
    return respond(WindowsPage(items=items, page=page.page, pages=page.pages, total=page.total))


@bp.post("/merchant/windows")
@document(
    summary="Create a group buy as a draft",
    request=WindowIn,
    response=WindowDetail,
    tags=TAGS,
    status=201,
    description="Items must be your listed products, each once. Field errors on items are keyed items.N.field.",
)
@api_role("merchant:windows")
def merchant_window_create():
    data = parse(WindowIn)
    window_input = editing.WindowInput(
        title=data.title,
        opens_at=data.opens_at,
        closes_at=data.closes_at,
        pickup_date=data.pickup_date,
        all_leaders=data.all_leaders,
        leader_ids=_leader_ids(data.all_leaders, data.leader_ids),
        items=_item_inputs(data.items),
    )
    with _api_field_names():
        window = editing.create_window(g.merchant, window_input, actor=_actor())
    return respond(_window_out(window), status=201)


@bp.get("/merchant/windows/<int:window_id>")
@document(
    summary="A group buy with its items' sales, share links and delivery batches",
    response=WindowDetail,
    tags=TAGS,
    errors=(404,),
)
@api_role("merchant:windows")
def merchant_window_get(window_id: int):
    return respond(_window_out(window_service.get_window(g.merchant.id, window_id)))


def _patched_window(window: Window, data: WindowPatch) -> editing.WindowInput:
    given = data.model_fields_set

    def pick(name):
        return getattr(data if name in given else window, name)

    all_leaders = pick("all_leaders")
    if "leader_ids" in given:
        leader_ids = _leader_ids(all_leaders, data.leader_ids)
    else:
        leader_ids = [] if all_leaders else window_service.chosen_leader_ids(window)
    return editing.WindowInput(
        title=pick("title"),
        opens_at=pick("opens_at"),
        closes_at=pick("closes_at"),
        pickup_date=pick("pickup_date"),
        all_leaders=all_leaders,
        leader_ids=leader_ids,
        items=_item_inputs(data.items) if "items" in given else None,
    )


@bp.patch("/merchant/windows/<int:window_id>")
@document(
    summary="Change a group buy",
    request=WindowPatch,
    response=WindowDetail,
    tags=TAGS,
    errors=(404, 409),
    description="Draft and scheduled: any field; absent fields keep their value. Open: only `title` "
    "and a later `closes_at`. Once the window is open or has orders, items and prices are frozen "
    "(409 prices_frozen); other changes to a window that is not editable are 409 invalid_transition.",
)
@api_role("merchant:windows")
def merchant_window_update(window_id: int):
    window = window_service.get_window(g.merchant.id, window_id)
    data = parse(WindowPatch)
    given = data.model_fields_set
    if not given:
        return respond(_window_out(window))
    with _api_field_names():
        if window.status == "open" and given <= AMENDABLE_WHEN_OPEN:
            title = data.title if "title" in given else window.title
            closes_at = data.closes_at if "closes_at" in given else window.closes_at
            window = editing.amend_open_window(window, title=title, closes_at=closes_at, actor=_actor())
        else:
            window = editing.update_window(window, _patched_window(window, data), actor=_actor())
    return respond(_window_out(window))


def _transition(window_id: int, action):
    window = window_service.get_window(g.merchant.id, window_id)
    with _api_field_names():
        window = action(window, actor=_actor())
    return respond(_window_out(window))


@bp.post("/merchant/windows/<int:window_id>/schedule")
@document(
    summary="Schedule a draft: it opens by itself at its opening time",
    response=WindowDetail,
    tags=TAGS,
    errors=(404, 409, 422),
    description="Needs at least one item, only listed products, and a cut-off in the future (422).",
)
@api_role("merchant:windows")
def merchant_window_schedule(window_id: int):
    return _transition(window_id, window_service.schedule_window)


@bp.post("/merchant/windows/<int:window_id>/unschedule")
@document(summary="Put a scheduled group buy back to draft", response=WindowDetail, tags=TAGS, errors=(404, 409))
@api_role("merchant:windows")
def merchant_window_unschedule(window_id: int):
    return _transition(window_id, window_service.unschedule_window)


@bp.post("/merchant/windows/<int:window_id>/open")
@document(
    summary="Open a scheduled group buy whose opening time has passed",
    response=WindowDetail,
    tags=TAGS,
    errors=(404, 409),
)
@api_role("merchant:windows")
def merchant_window_open(window_id: int):
    return _transition(window_id, window_service.open_window_now)
