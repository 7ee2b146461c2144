"""Checks of typed input shared by every domain: one line of text, a whole number in a range."""

from __future__ import annotations

import unicodedata

from flask_babel import gettext as _


def has_control_chars(text: str) -> bool:
    # NUL in particular: PostgreSQL refuses it in text columns, which would be a 500.
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in text)


def clean_line(value: str | None, *, max_len: int, required: bool) -> tuple[str, str | None]:
    """A single line of text, stripped; returns (value, error message or None)."""
    text = (value or "").strip()
    if required and not text:
        return text, _("This field is required.")
    if len(text) > max_len:
        return text, _("Use at most %(n)d characters.", n=max_len)
    if has_control_chars(text):
        return text, _("Remove the control characters.")
    return text, None


def check_int(value, *, low: int, high: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return _("Enter a whole number.")
    if not low <= value <= high:
        return _("Enter a number from %(low)d to %(high)d.", low=low, high=high)
    return None
