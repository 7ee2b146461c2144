"""Products and their stock: what a merchant sells, at which list price, and how many are left.

Stock only ever moves with SQL arithmetic or a compare-and-set, and every change re-syncs the
product's stock alert in the same transaction (app.services.catalog.stock).
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update

from app.extensions import db
from app.models import Merchant, Product, StockAlert, Window
from app.permissions import scoped_or_404
from app.services.catalog.stock import sync_stock_alerts
from app.services.core import audit, clock
from app.services.core.checks import check_int, clean_line
from app.services.core.errors import ValidationFailed
from app.services.core.paging import PER_PAGE, Page, paginate

MAX_PRICE_FEN = 1_000_000 * 100  # one million yuan: far above any group-buy price, far below int32
MAX_STOCK = 1_000_000
MAX_ADD_STOCK = 1_000_000


def _validate(name, spec, category, price_fen, stock, low_stock_threshold, subcategory="") -> dict:
    errors: dict[str, str] = {}
    cleaned = {}
    for field, value, max_len, required in (
        ("name", name, 120, True),
        ("spec", spec, 60, False),
        ("category", category, 40, False),
        ("subcategory", subcategory, 40, False),
    ):
        cleaned[field], error = clean_line(value, max_len=max_len, required=required)
        if error:
            errors[field] = error
    if cleaned["subcategory"] and not cleaned["category"] and "category" not in errors:
        errors["subcategory"] = _("A subcategory needs its category.")
    if error := check_int(price_fen, low=0, high=MAX_PRICE_FEN):
        errors["price"] = _("Enter a price from 0 to 1,000,000 yuan.") if isinstance(price_fen, int) else error
    if error := check_int(stock, low=0, high=MAX_STOCK):
        errors["stock"] = error
    if error := check_int(low_stock_threshold, low=0, high=MAX_STOCK):
        errors["low_stock_threshold"] = error
    if errors:
        raise ValidationFailed(fields=errors)
    return cleaned


def get_product(merchant_id: int, product_id: int) -> Product:
    """One of this merchant's products; another merchant's id is NotFound."""
    return scoped_or_404(select(Product).where(Product.id == product_id, Product.merchant_id == merchant_id))


def list_products(
    merchant_id: int,
    *,
    query: str = "",
    listed: bool | None = None,
    category: str | None = None,
    subcategory: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Page[Product]:
    """A page of the merchant's products, searched by name or category substring, optionally in
    one category (and subcategory)."""
    stmt = select(Product).where(Product.merchant_id == merchant_id)
    query = (query or "").strip()[:120]
    if query:
        stmt = stmt.where(
            or_(
                Product.name.icontains(query, autoescape=True),
                Product.category.icontains(query, autoescape=True),
                Product.subcategory.icontains(query, autoescape=True),
            )
        )
    if listed is not None:
        stmt = stmt.where(Product.listed.is_(listed))
    if category is not None:
        stmt = stmt.where(Product.category == category[:40])
        if subcategory is not None:
            stmt = stmt.where(Product.subcategory == subcategory[:40])
    stmt = stmt.order_by(Product.category, Product.subcategory, Product.name, Product.id)
    return paginate(stmt, page, per_page)


def listed_products(merchant_id: int) -> list[Product]:
    """Everything the merchant can put into a window."""
    return list(
        db.session.scalars(
            select(Product)
            .where(Product.merchant_id == merchant_id, Product.listed.is_(True))
            .order_by(Product.category, Product.subcategory, Product.name, Product.id)
        )
    )


def category_tree(merchant_id: int) -> list[dict]:
    """[{name, count, subcategories: [{name, count}]}] of the merchant's products, by name."""
    rows = db.session.execute(
        select(Product.category, Product.subcategory, func.count(Product.id))
        .where(Product.merchant_id == merchant_id)
        .group_by(Product.category, Product.subcategory)
        .order_by(Product.category, Product.subcategory)
    ).all()
    tree: dict[str, dict] = {}
    for category, subcategory, count in rows:
        node = tree.setdefault(category, {"name": category, "count": 0, "subcategories": []})
        node["count"] += count
        if subcategory:
            node["subcategories"].append({"name": subcategory, "count": count})
    return list(tree.values())


def rename_category(
    merchant_id: int, old: str, new: str, *, subcategory_of: str | None = None, actor: str = "system"
) -> int:
    """Rename a category (or, with `subcategory_of`, a subcategory of that category) on every
    product that has it, in one UPDATE; returns how many products changed."""
    new, error = clean_line(new, max_len=40, required=subcategory_of is None)
    if error:
        raise ValidationFailed(fields={"new_name": error})
    stmt = update(Product).where(Product.merchant_id == merchant_id)
    if subcategory_of is None:
        stmt = stmt.where(Product.category == old).values(category=new)
    else:
        stmt = stmt.where(Product.category == subcategory_of, Product.subcategory == old).values(subcategory=new)
    changed = db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount
    audit.record(actor, "category.renamed", "merchant", merchant_id, old=old, new=new, parent=subcategory_of)
    db.session.commit()
    return changed


def create_product(
    merchant: Merchant,
    *,
    name: str,
    spec: str = "",
    category: str = "",
    subcategory: str = "",
    price_fen: int,
    stock: int = 0,
    low_stock_threshold: int = 0,
    listed: bool = True,
    actor: str = "system",
) -> Product:
    """Add a product to the merchant's catalogue."""
    cleaned = _validate(name, spec, category, price_fen, stock, low_stock_threshold, subcategory)
    product = Product(
        merchant_id=merchant.id,
        price_fen=price_fen,
        stock=stock,
        low_stock_threshold=low_stock_threshold,
        listed=bool(listed),
        created_at=clock.now(),
        updated_at=clock.now(),
        **cleaned,
    )
    db.session.add(product)
    db.session.flush()
    sync_stock_alerts([product.id])
    audit.record(actor, "product.created", "product", product.id, stock=stock, price_fen=price_fen)
    db.session.commit()
    return product


def update_product(
    product: Product,
    *,
    name: str,
    spec: str = "",
    category: str = "",
    subcategory: str | None = None,
    price_fen: int,
    stock: int,
    low_stock_threshold: int,
    listed: bool = True,
    stock_seen: int | None = None,
    actor: str = "system",
) -> Product:
    """Edit a product; stock is set absolutely, but only if nobody changed it since `stock_seen`.
    `subcategory` None keeps the product's own."""
    if subcategory is None:
        subcategory = product.subcategory if category == product.category else ""
    cleaned = _validate(name, spec, category, price_fen, stock, low_stock_threshold, subcategory)
    values = dict(cleaned, price_fen=price_fen, low_stock_threshold=low_stock_threshold, listed=bool(listed))
    stmt = update(Product).where(Product.id == product.id)
    if stock_seen is None:
        values["stock"] = stock
    elif stock != stock_seen:
        # Orders decrement stock while the form is open; overwriting their work silently would
        # resurrect sold units, so the absolute value only applies to the stock the user saw.
        values["stock"] = stock
        stmt = stmt.where(Product.stock == stock_seen)
    changed = db.session.execute(stmt.values(**values).execution_options(synchronize_session=False)).rowcount
    if not changed:
        db.session.rollback()
        current = db.session.scalar(select(Product.stock).where(Product.id == product.id))
        raise ValidationFailed(
            fields={"stock": _("Stock changed to %(n)d while you were editing. Check it and save again.", n=current)}
        )
    sync_stock_alerts([product.id])
    audit.record(actor, "product.updated", "product", product.id, stock=values.get("stock"))
    db.session.commit()
    db.session.refresh(product)
    return product


def set_listed(product: Product, listed: bool, *, actor: str = "system") -> Product:
    """Unlist (hide from new windows) or relist a product."""
    db.session.execute(
        update(Product)
        .where(Product.id == product.id)
        .values(listed=bool(listed))
        .execution_options(synchronize_session=False)
    )
    audit.record(actor, "product.listed" if listed else "product.unlisted", "product", product.id)
    db.session.commit()
    db.session.refresh(product)
    return product


def add_stock(product: Product, quantity: int, *, actor: str = "system") -> int:
    """Receive goods: add `quantity` to stock in one UPDATE and return the new stock."""
    if error := check_int(quantity, low=1, high=MAX_ADD_STOCK):
        raise ValidationFailed(fields={"quantity": error})
    added = db.session.execute(
        update(Product)
        .where(Product.id == product.id, Product.stock <= MAX_STOCK - quantity)
        .values(stock=Product.stock + quantity)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not added:
        db.session.rollback()
        raise ValidationFailed(fields={"quantity": _("Stock may not exceed %(n)d.", n=MAX_STOCK)})
    sync_stock_alerts([product.id])
    audit.record(actor, "product.stock_added", "product", product.id, quantity=quantity)
    db.session.commit()
    db.session.refresh(product)
    return product.stock


def merchant_summary(merchant_id: int) -> dict:
    """Counts for the merchant home page."""
    products = db.session.scalar(select(func.count(Product.id)).where(Product.merchant_id == merchant_id))
    alerts = db.session.scalar(
        select(func.count(StockAlert.id)).where(StockAlert.merchant_id == merchant_id, StockAlert.cleared_at.is_(None))
    )
    open_windows = db.session.scalar(
        select(func.count(Window.id)).where(Window.merchant_id == merchant_id, Window.status == "open")
    )
    return {"products": products or 0, "alerts": alerts or 0, "open_windows": open_windows or 0}
