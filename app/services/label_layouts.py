"""Drawing of one label or ticket on a ReportLab canvas. Pure layout: no database.

Sizes are in points; every text line is fitted to its width (cut with "…") so nothing spills
over the QR or off a thermal label. The QR is drawn as vector rectangles from the `qrcode`
matrix: sharp at any printer resolution and much faster than embedding a PNG per label.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import qrcode
from flask_babel import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

FONT = "LabelCJK"
ELLIPSIS = "…"


@dataclass(frozen=True)
class Line:
    name: str
    quantity: int  # units in the bag (short units excluded)
    unit_price_fen: int


@dataclass(frozen=True)
class LabelData:
    point_name: str
    slot: int | None
    number: str
    customer: str  # masked
    phone: str  # masked
    pickup_date: str
    qr_text: str
    lines: list[Line] = field(default_factory=list)
    total_fen: int = 0


@dataclass(frozen=True)
class Layout:
    name: str
    width: float
    height: float | None  # None: as tall as the content (receipt)
    columns: int = 1
    rows: int = 1


LAYOUTS = {
    "40x30": Layout("40x30", 40 * mm, 30 * mm),
    "50x30": Layout("50x30", 50 * mm, 30 * mm),
    "60x40": Layout("60x40", 60 * mm, 40 * mm),
    "a4": Layout("a4", A4[0], A4[1], columns=3, rows=8),
    "ticket58": Layout("ticket58", 58 * mm, None),
}


def fit(text: str, size: float, width: float) -> str:
    """The text, cut with "…" so it is at most `width` wide."""
    if stringWidth(text, FONT, size) <= width:
        return text
    while text and stringWidth(text + ELLIPSIS, FONT, size) > width:
        text = text[:-1]
    return text + ELLIPSIS


def yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def item_summary(lines: list[Line], size: float, width: float, max_lines: int) -> list[str]:
    """As many "name ×qty" lines as fit; the last one says "+N more" when some are left out."""
    texts = [f"{line.name} ×{line.quantity}" for line in lines]
    if len(texts) <= max_lines:
        return [fit(text, size, width) for text in texts]
    if max_lines <= 1:
        # One line only: the first item, cut, then how many others.
        more = " " + _("+%(count)d more", count=len(texts) - 1)
        return [fit(texts[0], size, max(width - stringWidth(more, FONT, size), 0)) + more]
    shown = max_lines - 1
    more = _("+%(count)d more", count=len(texts) - shown)
    return [fit(text, size, width) for text in texts[:shown]] + [more]


def qr_matrix(text: str) -> list[list[bool]]:
    # A fixed mask skips trying all eight (most of the encoding time); any mask is valid QR.
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0, mask_pattern=0)
    qr.add_data(text)
    qr.make(fit=True)
    return qr.get_matrix()


def draw_qr(canvas, text: str, x: float, y: float, size: float) -> None:
    """The QR with its bottom-left corner at (x, y); runs of dark modules become one rectangle."""
    matrix = qr_matrix(text)
    count = len(matrix)
    module = size / count
    path = canvas.beginPath()
    for row, cells in enumerate(matrix):
        top = y + size - (row + 1) * module
        col = 0
        while col < count:
            if not cells[col]:
                col += 1
                continue
            start = col
            while col < count and cells[col]:
                col += 1
            path.rect(x + start * module, top, (col - start) * module, module)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawPath(path, stroke=0, fill=1)


def shrink(text: str, size: float, width: float, smallest: float = 4.0) -> float:
    """A font size at most `size` at which the text fits `width` (not below `smallest`)."""
    natural = stringWidth(text, FONT, size)
    return size if natural <= width else max(smallest, size * width / natural)


def draw_label(canvas, data: LabelData, x: float, y: float, width: float, height: float) -> None:
    """One bag label in the box with bottom-left (x, y): text on the left, QR on the right."""
    margin = min(width, height) * 0.06
    qr_size = min(height - 2 * margin, width * 0.46)
    qr_x = x + width - margin - qr_size
    qr_y = y + height - margin - qr_size
    draw_qr(canvas, data.qr_text, qr_x, qr_y, qr_size)
    text_w = qr_x - x - 2 * margin
    left = x + margin
    top = y + height - margin

    slot_size = min(height * 0.28, text_w * 0.45)
    small = max(height * 0.075, 4.5)
    slot = f"{data.slot}" if data.slot is not None else "-"
    canvas.setFont(FONT, slot_size)
    canvas.drawString(left, top - slot_size * 0.85, fit(slot, slot_size, text_w))
    cursor = top - slot_size * 0.85 - small * 1.3
    # The number and the phone tail are what staff read out: shrink them rather than cut them.
    for text, may_shrink in (
        (data.point_name, False),
        (data.number, True),
        (data.customer, True),
        (data.phone, True),
        (data.pickup_date, True),
    ):
        size = shrink(text, small, text_w) if may_shrink else small
        canvas.setFont(FONT, size)
        canvas.drawString(left, cursor, fit(text, size, text_w))
        cursor -= small * 1.2
    canvas.setFont(FONT, small)
    # Below the QR the items may use the full width.
    items_top = min(cursor, qr_y - small * 1.1)
    items_w = width - 2 * margin if items_top < qr_y - small else text_w
    room = int((items_top - (y + margin)) // (small * 1.2)) + 1
    for text in item_summary(data.lines, small, items_w, max(room, 1)):
        if items_top < y + margin * 0.5:
            break
        canvas.drawString(left, items_top, text)
        items_top -= small * 1.2


def draw_sheet(canvas, labels: list[LabelData], layout: Layout) -> None:
    """A4 sheets of columns × rows labels, one page per full sheet."""
    per_page = layout.columns * layout.rows
    cell_w = layout.width / layout.columns
    cell_h = layout.height / layout.rows
    for start in range(0, len(labels), per_page):
        canvas.setPageSize((layout.width, layout.height))
        for index, data in enumerate(labels[start : start + per_page]):
            col, row = index % layout.columns, index // layout.columns
            cx, cy = col * cell_w, layout.height - (row + 1) * cell_h
            canvas.setLineWidth(0.2)
            canvas.setStrokeGray(0.8)
            canvas.rect(cx, cy, cell_w, cell_h, stroke=1, fill=0)
            draw_label(canvas, data, cx + 2 * mm, cy + 1 * mm, cell_w - 4 * mm, cell_h - 2 * mm)
        canvas.showPage()


# ---- 58 mm receipt ticket (小票)

_T_MARGIN = 3 * mm
_T_SIZE = 8
_T_LEAD = 10.5


def _ticket_rows(data: LabelData) -> list[tuple[str, str, float]]:
    """(left text, right text, font size) rows, top to bottom, before the QR."""
    rows = [
        (data.point_name, "", 10),
        (f"#{data.slot}" if data.slot is not None else "", "", 22),
        (data.number, "", _T_SIZE),
        (f"{data.customer} {data.phone}", "", _T_SIZE),
        (data.pickup_date, "", _T_SIZE),
        ("-" * 40, "", _T_SIZE),
    ]
    for line in data.lines:
        rows.append((line.name, "", _T_SIZE))
        rows.append((f"  {line.quantity} × {yuan(line.unit_price_fen)}", yuan(line.quantity * line.unit_price_fen), 8))
    rows.append(("-" * 40, "", _T_SIZE))
    rows.append((_("Total"), yuan(data.total_fen), 9))
    return rows


def ticket_height(data: LabelData, width: float) -> float:
    rows = _ticket_rows(data)
    qr_size = width - 2 * _T_MARGIN - 8 * mm
    return _T_MARGIN * 2 + sum(max(size * 1.3, _T_LEAD) for _, _, size in rows) + qr_size + 4 * mm


def draw_ticket(canvas, data: LabelData, width: float) -> None:
    """One ticket as its own page, as tall as its content."""
    height = ticket_height(data, width)
    canvas.setPageSize((width, height))
    inner = width - 2 * _T_MARGIN
    cursor = height - _T_MARGIN
    canvas.setFillColorRGB(0, 0, 0)
    for left, right, size in _ticket_rows(data):
        cursor -= max(size * 1.3, _T_LEAD)
        canvas.setFont(FONT, size)
        right_w = stringWidth(right, FONT, size) + (2 if right else 0)
        if left:
            canvas.drawString(_T_MARGIN, cursor + size * 0.3, fit(left, size, inner - right_w))
        if right:
            canvas.drawRightString(width - _T_MARGIN, cursor + size * 0.3, right)
    qr_size = inner - 8 * mm
    draw_qr(canvas, data.qr_text, (width - qr_size) / 2, _T_MARGIN, qr_size)
    canvas.showPage()
