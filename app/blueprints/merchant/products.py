"""Merchant products: list and search, create, edit, unlist/relist, add stock."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.access import merchant_area_required
from app.blueprints.merchant import bp
from app.blueprints.merchant.forms import AddStockForm, ProductForm, ProductSearchForm, apply_errors
from app.services.catalog import catalog, catalog_bulk, listing_schedule, product_images
from app.services.core import audit, clock
from app.services.core.errors import ValidationFailed

_LISTED = {"listed": True, "unlisted": False}


def _page_arg() -> int:
    value = request.args.get("page", "1")
    return int(value) if value.isdigit() and len(value) <= 6 else 1


@bp.get("/products")
@merchant_area_required("products")
def products(bulk_errors: dict | None = None, bulk_values=None, error: str | None = None, status: int = 200):
    search = ProductSearchForm(request.args)
    search.validate()
    query = search.q.data if not search.q.errors else ""
    category = request.args.get("category")
    subcategory = request.args.get("sub") if category is not None else None
    page = catalog.list_products(
        g.merchant.id,
        query=query or "",
        listed=_LISTED.get(search.listed.data),
        category=category,
        subcategory=subcategory,
        page=_page_arg(),
    )
    return render_template(
        "merchant/products/list.html",
        search=search,
        page=page,
        stock_form=AddStockForm(),
        categories=catalog.category_tree(g.merchant.id),
        category=category,
        subcategory=subcategory,
        bulk_errors=bulk_errors or {},
        bulk_values=bulk_values or {},
        bulk_error=error,
    ), status


def _product_values(form: ProductForm) -> dict:
    return {
        "name": form.name.data,
        "spec": form.spec.data or "",
        "category": form.category.data or "",
        "subcategory": form.subcategory.data or "",
        "price_fen": form.price.data,
        "stock": form.stock.data,
        "low_stock_threshold": form.low_stock_threshold.data,
        "listed": form.listed.data,
    }


@bp.route("/products/new", methods=["GET", "POST"])
@merchant_area_required("products")
def product_new():
    form = ProductForm()
    if form.validate_on_submit():
        try:
            product = catalog.create_product(g.merchant, **_product_values(form), actor=audit.actor_for(current_user))
        except ValidationFailed as exc:
            form.form_errors.extend(apply_errors(form, exc.fields))
        else:
            flash(_("Product %(name)s created.", name=product.name), "success")
            return redirect(url_for("merchant.products"))
    status = 422 if form.is_submitted() else 200
    return render_template("merchant/products/form.html", form=form, product=None), status


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
@merchant_area_required("products")
def product_edit(product_id: int):
    product = catalog.get_product(g.merchant.id, product_id)
    form = ProductForm() if request.method == "POST" else _filled_form(product)
    if form.validate_on_submit():
        try:
            catalog.update_product(
                product,
                **_product_values(form),
                stock_seen=form.stock_seen_value(),
                actor=audit.actor_for(current_user),
            )
        except ValidationFailed as exc:
            form.form_errors.extend(apply_errors(form, exc.fields))
            # Re-arm the check with the stock as it is now, so a second save can go through.
            form.stock_seen.raw_data = None
            form.stock_seen.data = str(product.stock)
        else:
            flash(_("Product %(name)s saved.", name=product.name), "success")
            return redirect(url_for("merchant.products"))
    status = 422 if form.is_submitted() else 200
    return render_template("merchant/products/form.html", form=form, product=product, stock_form=AddStockForm()), status


def _filled_form(product) -> ProductForm:
    form = ProductForm(obj=product)
    form.price.data = product.price_fen
    form.stock_seen.data = str(product.stock)
    return form


@bp.post("/products/<int:product_id>/stock")
@merchant_area_required("products")
def product_add_stock(product_id: int):
    product = catalog.get_product(g.merchant.id, product_id)
    stock_form = AddStockForm()
    if stock_form.validate_on_submit():
        try:
            new_stock = catalog.add_stock(product, stock_form.quantity.data, actor=audit.actor_for(current_user))
        except ValidationFailed as exc:
            apply_errors(stock_form, exc.fields)
        else:
            flash(_("Stock of %(name)s is now %(n)d.", name=product.name, n=new_stock), "success")
            return redirect(_back_to(url_for("merchant.products")))
    return render_template(
        "merchant/products/form.html", form=_filled_form(product), product=product, stock_form=stock_form
    ), 422


@bp.post("/products/<int:product_id>/listed")
@merchant_area_required("products")
def product_set_listed(product_id: int):
    product = catalog.get_product(g.merchant.id, product_id)
    listed = request.form.get("listed") == "1"
    catalog.set_listed(product, listed, actor=audit.actor_for(current_user))
    message = _("%(name)s is now listed.") if listed else _("%(name)s is now unlisted.")
    flash(message % {"name": product.name}, "success")
    return redirect(_back_to(url_for("merchant.products")))


def _back_to(default: str) -> str:
    # Only a same-site path from our own list page, so filters and page survive the action.
    target = request.form.get("next", "")
    if target.startswith("/merchant/") and not target.startswith("//"):
        return target
    return default


@bp.post("/products/categories/rename")
@merchant_area_required("products")
def category_rename():
    old = request.form.get("old", "")[:40]
    parent = request.form.get("parent")
    parent = parent[:40] if parent is not None else None
    try:
        changed = catalog.rename_category(
            g.merchant.id,
            old,
            request.form.get("new_name", ""),
            subcategory_of=parent,
            actor=audit.actor_for(current_user),
        )
    except ValidationFailed as exc:
        flash(next(iter(exc.fields.values()), exc.message), "error")
        return redirect(url_for("merchant.products", category=parent if parent is not None else old))
    flash(_("Renamed on %(n)d product(s).", n=changed), "success")
    new = request.form.get("new_name", "").strip()
    if parent is None:
        return redirect(url_for("merchant.products", category=new))
    return redirect(url_for("merchant.products", category=parent, sub=new or None))


@bp.post("/products/<int:product_id>/image")
@merchant_area_required("products")
def product_image(product_id: int):
    product = catalog.get_product(g.merchant.id, product_id)
    try:
        product_images.set_image(product, request.files.get("image"), actor=audit.actor_for(current_user))
    except ValidationFailed as exc:
        flash(next(iter(exc.fields.values()), exc.message), "error")
        return redirect(url_for("merchant.product_edit", product_id=product_id))
    flash(_("Photo saved."), "success")
    return redirect(url_for("merchant.product_edit", product_id=product_id))


@bp.post("/products/<int:product_id>/image/remove")
@merchant_area_required("products")
def product_image_remove(product_id: int):
    product_images.remove_image(catalog.get_product(g.merchant.id, product_id), actor=audit.actor_for(current_user))
    flash(_("Photo removed."), "success")
    return redirect(url_for("merchant.product_edit", product_id=product_id))


@bp.post("/products/bulk-edit")
@merchant_area_required("products")
def products_bulk_edit():
    back = url_for("merchant.products", **request.args)
    try:
        changed = catalog_bulk.apply(
            g.merchant.id, catalog_bulk.parse(request.form), actor=audit.actor_for(current_user)
        )
    except catalog_bulk.BulkRejected as exc:
        # The list again, with the typed values and each row's errors beside it.
        return products(bulk_errors=exc.rows, bulk_values=request.form, error=exc.message, status=422)
    except ValidationFailed as exc:
        flash(exc.message, "error")
        return redirect(back)
    flash(_("Saved %(n)d product(s).", n=changed), "success")
    return redirect(back, code=303)


@bp.post("/products/<int:product_id>/schedule")
@merchant_area_required("products")
def product_schedule(product_id: int):
    product = catalog.get_product(g.merchant.id, product_id)
    back = url_for("merchant.product_edit", product_id=product_id)
    try:
        list_at = clock.parse_local_input(request.form.get("list_at"))
        unlist_at = clock.parse_local_input(request.form.get("unlist_at"))
    except ValueError:
        flash(_("Enter the times as a date and time."), "error")
        return redirect(back)
    try:
        listing_schedule.set_schedule(
            product, list_at=list_at, unlist_at=unlist_at, actor=audit.actor_for(current_user)
        )
    except ValidationFailed as exc:
        for message in exc.fields.values():
            flash(message, "error")
        return redirect(back)
    flash(_("Schedule saved."), "success")
    return redirect(back, code=303)
