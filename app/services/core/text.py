"""Formatting of money, phones and names for display. Money is integer fen everywhere."""

from __future__ import annotations

import re

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")


def format_yuan(fen: int | None) -> str:
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}¥{fen // 100}.{fen % 100:02d}"


def parse_yuan(text: str) -> int:
    """'12.5' or '12.50' or '¥12' -> 1250 fen, exactly, without floats."""
    cleaned = text.strip().lstrip("¥").strip()
    match = re.fullmatch(r"(\d{1,9})(?:\.(\d{1,2}))?", cleaned)
    if not match:
        raise ValueError("not an amount")
    whole, frac = match.group(1), (match.group(2) or "").ljust(2, "0")
    return int(whole) * 100 + int(frac)


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


def mask_name(name: str | None) -> str:
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def normalize_phone(text: str) -> str:
    """Strip spaces, dashes and a +86 prefix; the caller validates with PHONE_RE."""
    digits = re.sub(r"[\s\-()]", "", text or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits
