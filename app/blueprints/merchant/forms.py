"""Forms for products and windows. They parse; the services in app.services decide."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    Field,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from app.services.catalog.catalog import MAX_ADD_STOCK, MAX_PRICE_FEN, MAX_STOCK
from app.services.core.checks import has_control_chars
from app.services.core.text import parse_yuan

LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
MAX_ITEM_ROWS = 200


def strip(value):
    return value.strip() if isinstance(value, str) else value


def no_control_chars(form, field):  # noqa: ARG001
    if isinstance(field.data, str) and has_control_chars(field.data):
        raise ValidationError(_l("Remove the control characters."))


def plausible_year(form, field):  # noqa: ARG001
    # Converting year 1 or 9999 between zones overflows; nobody schedules a group buy then.
    if field.data is not None and not 2000 <= field.data.year <= 2100:
        raise StopValidation(_l("Enter a date between 2000 and 2100."))


def fen_to_text(fen: int | None) -> str:
    return "" if fen is None else f"{fen // 100}.{fen % 100:02d}"


class YuanField(Field):
    """An amount typed in yuan ("12.50"); `data` is exact integer fen, never a float."""

    widget = TextInput()

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return fen_to_text(self.data)

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = (valuelist[0] or "").strip()
        self.data = None
        if not text:
            return
        try:
            fen = parse_yuan(text)
        except ValueError:
            raise ValueError(_l("Enter an amount in yuan such as 12.50 (not negative, at most 2 decimals).")) from None
        if fen > MAX_PRICE_FEN:
            raise ValueError(_l("Enter at most 1,000,000 yuan."))
        self.data = fen

    def pre_validate(self, form):  # noqa: ARG002
        if self.process_errors:
            raise StopValidation()


class ProductForm(FlaskForm):
    name = StringField(_l("Name"), filters=[strip], validators=[InputRequired(), Length(max=120), no_control_chars])
    spec = StringField(_l("Spec / unit"), filters=[strip], validators=[Length(max=60), no_control_chars])
    category = StringField(_l("Category"), filters=[strip], validators=[Length(max=40), no_control_chars])
    subcategory = StringField(_l("Subcategory"), filters=[strip], validators=[Length(max=40), no_control_chars])
    price = YuanField(_l("Price (yuan)"), validators=[InputRequired()])
    stock = IntegerField(_l("Stock"), default=0, validators=[InputRequired(), NumberRange(0, MAX_STOCK)])
    low_stock_threshold = IntegerField(
        _l("Low-stock alert at"), default=0, validators=[InputRequired(), NumberRange(0, MAX_STOCK)]
    )
    listed = BooleanField(_l("Listed (can be put into group buys)"), default=True)
    # The stock shown when the form was opened, so saving does not undo sales made meanwhile.
    stock_seen = HiddenField()

    def stock_seen_value(self) -> int | None:
        value = (self.stock_seen.data or "").strip()
        return int(value) if value.isdigit() and len(value) <= 9 else None


class AddStockForm(FlaskForm):
    quantity = IntegerField(_l("Add stock"), validators=[InputRequired(), NumberRange(1, MAX_ADD_STOCK)])


def _product_id(value):
    if value in ("", None):
        return None
    return int(value)


class ItemRowForm(FlaskForm):
    class Meta:
        csrf = False  # one token for the whole window form

    product_id = SelectField(_l("Product"), coerce=_product_id, validate_choice=False)
    group_price = YuanField(_l("Group price (yuan)"), validators=[InputRequired()])
    per_customer_limit = IntegerField(_l("Limit per customer"), validators=[Optional(), NumberRange(1, 1_000_000)])
    quota = IntegerField(_l("Quota"), validators=[Optional(), NumberRange(1, 1_000_000)])
    min_group_size = IntegerField(_l("Minimum group"), default=1, validators=[Optional(), NumberRange(1, 1_000_000)])
    remove = BooleanField(_l("Remove"))

    def is_blank(self) -> bool:
        """A row with no product chosen (or marked removed) is ignored, whatever else it holds."""
        return bool(self.remove.data) or (self.product_id.data is None and not self.product_id.process_errors)

    def validate(self, extra_validators=None):
        if self.is_blank():
            return True
        return super().validate(extra_validators)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class WindowForm(FlaskForm):
    title = StringField(_l("Title"), filters=[strip], validators=[InputRequired(), Length(max=120), no_control_chars])
    opens_at = DateTimeLocalField(_l("Opens at"), format=LOCAL_FORMATS, validators=[InputRequired(), plausible_year])
    closes_at = DateTimeLocalField(_l("Cut-off"), format=LOCAL_FORMATS, validators=[InputRequired(), plausible_year])
    pickup_date = DateField(_l("Pickup date"), validators=[InputRequired(), plausible_year])
    leader_mode = RadioField(
        _l("Who may sell it"),
        default="all",
        choices=[("all", _l("All leaders")), ("chosen", _l("Only the leaders I choose"))],
    )
    leader_ids = MultiCheckboxField(_l("Leaders"), coerce=int, validate_choice=False)
    items = FieldList(FormField(ItemRowForm), min_entries=1, max_entries=MAX_ITEM_ROWS)
    add_rows = SubmitField(_l("Add more rows"))


class OpenWindowForm(FlaskForm):
    """What may change once a window is open: its title, and its cut-off (extended only)."""

    title = WindowForm.title
    closes_at = WindowForm.closes_at


def _choice_id(value):
    """A chosen id, or None (then "Not a valid choice") for anything that is not one."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = value.strip() if isinstance(value, str) else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None


class LeaderQuotaForm(FlaskForm):
    """One leader's own quota for one item of a window (services/windows/leader_quotas.py)."""

    leader_id = SelectField(_l("Leader"), coerce=_choice_id, validators=[InputRequired()])
    window_item_id = SelectField(_l("Product"), coerce=_choice_id, validators=[InputRequired()])
    quota = IntegerField(_l("Quota for this leader"), validators=[InputRequired(), NumberRange(0, 1_000_000)])


class LeaderDefaultForm(FlaskForm):
    """The per-leader cap of one item; empty means each leader may buy as much as is left."""

    window_item_id = IntegerField(validators=[InputRequired()])
    per_leader_quota = IntegerField(_l("Each leader at most"), validators=[Optional(), NumberRange(0, 1_000_000)])


class ProductSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    q = StringField(_l("Search name or category"), filters=[strip], validators=[Length(max=120)])
    listed = SelectField(
        _l("Show"),
        default="all",
        choices=[("all", _l("All")), ("listed", _l("Listed")), ("unlisted", _l("Unlisted"))],
    )


def apply_errors(form, fields: dict[str, str]) -> list[str]:
    """Attach service field errors ("title", "items-3-quota") to form fields; return the rest."""
    leftover = []
    for key, message in fields.items():
        target = _find_field(form, key)
        if target is None:
            leftover.append(message)
        else:
            target.errors = [*target.errors, message]
    return leftover


def _find_field(form, key: str):
    if key in form._fields:
        return form._fields[key]
    head, _sep, rest = key.partition("-")
    container = form._fields.get(head)
    if isinstance(container, FieldList):
        index, _sep, name = rest.partition("-")
        if index.isdigit() and int(index) < len(container.entries):
            row = container.entries[int(index)].form
            return row._fields.get(name)
    return None
