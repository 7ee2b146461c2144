"""Drawing of one label or ticket on a ReportLab canvas. Pure layout: no database.

Sizes are in points; every text line is fitted to its width (cut with "…") so nothing spills
over the QR or off a thermal label. The QR is drawn as vector rectangles on a grid of whole
modules: sharp at any printer resolution and much faster than embedding a PNG per label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from operator import itemgetter

import qrcode
from flask_babel import gettext as _
from qrcode import base as qr_base
from qrcode import util as qr_util
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


# ---- QR codes
#
# The matrix is module for module the one `qrcode` makes for the text (its own segment choice,
# smallest version, ECC M, mask 0: any mask is valid QR), built over ten times faster: qrcode
# spends ~1 ms per code in its polynomial-object Reed-Solomon and bit-at-a-time buffer, which made
# QR encoding half the time of a batch. Here the codewords are integer arithmetic, and each
# version's fixed patterns and module order come from qrcode itself, once per process.

_QR_ECC = qrcode.constants.ERROR_CORRECT_M
_QR_MASK = 0
_DARK_RUN = re.compile("1+")


@cache
def _qr_blocks(version: int) -> tuple[tuple[int, int], ...]:
    """(data codewords, error-correction codewords) of each block."""
    return tuple((b.data_count, b.total_count - b.data_count) for b in qr_base.rs_blocks(version, _QR_ECC))


@cache
def _rs_remainders(ec_count: int) -> list[int]:
    """For each feedback byte f: f times the generator polynomial's low terms, as one integer.

    Dividing by the generator then takes one shift and one XOR per data codeword."""
    gen = [1]
    for i in range(ec_count):  # multiply by (x - a^i)
        root = qr_base.gexp(i)
        gen = [high ^ _gf_mul(low, root) for high, low in zip([*gen, 0], [0, *gen], strict=True)]
    return [int.from_bytes(bytes(_gf_mul(c, f) for c in gen[1:]), "big") for f in range(256)]


def _gf_mul(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else qr_base.gexp(qr_base.glog(a) + qr_base.glog(b))


def _rs_ec(block: bytes, ec_count: int) -> bytes:
    table = _rs_remainders(ec_count)
    top, keep = 8 * (ec_count - 1), (1 << (8 * ec_count)) - 1
    remainder = 0
    for byte in block:
        remainder = ((remainder << 8) & keep) ^ table[byte ^ (remainder >> top)]
    return remainder.to_bytes(ec_count, "big")


def _segment_bits(chunk: qr_util.QRData) -> tuple[int, int]:
    """A segment's content as (value, bit count), as qrcode's QRData.write puts it."""
    data = chunk.data
    value = bits = 0
    if chunk.mode == qr_util.MODE_NUMBER:
        for i in range(0, len(data), 3):
            width = qr_util.NUMBER_LENGTH[len(data[i : i + 3])]
            value, bits = (value << width) | int(data[i : i + 3]), bits + width
    elif chunk.mode == qr_util.MODE_ALPHA_NUM:
        for i in range(0, len(data), 2):
            pair = [qr_util.ALPHA_NUM.index(c) for c in data[i : i + 2]]
            width = 11 if len(pair) == 2 else 6
            value, bits = (value << width) | (pair[0] * 45 + pair[1] if len(pair) == 2 else pair[0]), bits + width
    else:
        value, bits = int.from_bytes(data, "big"), 8 * len(data)
    return value, bits


def _qr_codewords(text: str) -> tuple[int, bytes]:
    """(version, interleaved data and error-correction codewords) of the smallest version that fits."""
    segments = [(chunk.mode, len(chunk), *_segment_bits(chunk)) for chunk in qr_util.optimal_data_chunks(text, 20)]
    for version in range(1, 41):
        sizes = qr_util.mode_sizes_for_version(version)
        capacity = 8 * sum(data for data, _ in _qr_blocks(version))
        value = bits = 0
        for mode, count, content, width in segments:
            value = (((value << 4 | mode) << sizes[mode] | count) << width) | content
            bits += 4 + sizes[mode] + width
        if bits <= capacity:
            break
    else:
        raise qrcode.exceptions.DataOverflowError()
    # Terminator (up to four zero bits), zero bits to a byte boundary, then the 0xEC 0x11 filler.
    tail = min(4, capacity - bits)
    tail += -(bits + tail) % 8
    data = (value << tail).to_bytes((bits + tail) // 8, "big")
    data += bytes((0xEC, 0x11)) * (capacity // 16 + 1)
    data = data[: capacity // 8]
    blocks, offset = [], 0
    for count, ec_count in _qr_blocks(version):
        blocks.append((data[offset : offset + count], _rs_ec(data[offset : offset + count], ec_count)))
        offset += count
    out = bytearray()
    for part in (0, 1):
        for i in range(max(len(block[part]) for block in blocks)):
            out.extend(block[part][i] for block in blocks if i < len(block[part]))
    return version, bytes(out)


def _qrcode_modules(version: int, codewords: bytes) -> list[list[bool]]:
    qr = qrcode.QRCode(version=version, error_correction=_QR_ECC, border=0, mask_pattern=_QR_MASK)
    qr.data_cache = list(codewords)
    qr.makeImpl(False, _QR_MASK)
    return qr.modules


@cache
def _qr_plan(version: int) -> tuple[int, int, list[itemgetter]]:
    """How codeword bits land in a version's matrix: (bit count, mask bits, one getter per row).

    qrcode draws the version twice, with all-zero and all-one codewords: the modules that differ
    are the data modules. They take bits in the standard zigzag (two columns at a time, right to
    left, up then down, skipping the timing column). Each row is then a gather from the string
    "<masked codeword bits>01", the last two characters standing for fixed light and dark modules.
    """
    total = sum(data + ec for data, ec in _qr_blocks(version))
    light, dark = _qrcode_modules(version, bytes(total)), _qrcode_modules(version, b"\xff" * total)
    size = len(light)
    order: dict[tuple[int, int], int] = {}
    row, step, col = size - 1, -1, size - 1
    while col > 0:
        if col == 6:
            col -= 1
        while 0 <= row < size:
            for c in (col, col - 1):
                if light[row][c] != dark[row][c]:
                    order[(row, c)] = len(order)
            row += step
        row, step, col = row - step, -step, col - 2
    bits = len(order)
    mask = sum(1 << (bits - 1 - i) for (r, c), i in order.items() if light[r][c])
    getters = [itemgetter(*(order.get((r, c), bits + bool(light[r][c])) for c in range(size))) for r in range(size)]
    return bits, mask, getters


def qr_rows(text: str) -> list[str]:
    """The QR matrix of the text, one "0"/"1" string per row (1 is dark), without a quiet zone."""
    version, codewords = _qr_codewords(text)
    bits, mask, getters = _qr_plan(version)
    source = format(int.from_bytes(codewords, "big") ^ mask, f"0{bits}b") + "01"
    return ["".join(row(source)) for row in getters]


def qr_matrix(text: str) -> list[list[bool]]:
    """The QR matrix of the text as rows of booleans (True is dark), without a quiet zone."""
    return [[cell == "1" for cell in row] for row in qr_rows(text)]


def draw_qr(canvas, text: str, x: float, y: float, size: float) -> None:
    """The QR with its bottom-left corner at (x, y): one filled path, a rectangle per run of dark
    modules in a row, in module units (whole numbers: exact edges, short PDF, fast to write)."""
    rows = qr_rows(text)
    runs = " ".join(
        f"{start} {row} {end - start} 1 re"
        for row, line in enumerate(rows)
        for start, end in (match.span() for match in _DARK_RUN.finditer(line))
    )
    module = size / len(rows)
    canvas.saveState()
    canvas.transform(module, 0, 0, -module, x, y + size)  # origin at the QR's top-left, y down
    canvas.setFillColorRGB(0, 0, 0)
    canvas.addLiteral(runs + " f")
    canvas.restoreState()


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
