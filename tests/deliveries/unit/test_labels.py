"""Labels and tickets: every layout renders Chinese text and a QR that scans back to the order."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Order, PickupCode
from app.services.core import fonts
from app.services.deliveries import labels, slots
from app.services.deliveries.label_layouts import LAYOUTS
from app.services.pickup import codes
from tests.support.engines import IN_CI
from tests.support.pickup import Bags

PDFTOPPM = shutil.which("pdftoppm")
PDFTOTEXT = shutil.which("pdftotext")
if not (PDFTOPPM and PDFTOTEXT):
    if IN_CI:
        raise RuntimeError("pdftoppm/pdftotext (Debian poppler-utils) are required in CI")
    pytest.skip("poppler-utils not installed", allow_module_level=True)
if not (os.environ.get("LABEL_FONT_PATH") or any(Path(p).is_file() for p in fonts.FONT_CANDIDATES)):
    if IN_CI:
        raise RuntimeError("a CJK TrueType font (Debian fonts-wqy-zenhei) is required in CI")
    pytest.skip("no CJK font for labels: apt-get install fonts-wqy-zenhei", allow_module_level=True)

import zxingcpp  # noqa: E402  (dev requirement)
from PIL import Image  # noqa: E402

POINT_NAME = "幸福里自提点"


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order)


@pytest.fixture
def shelf(app, bags, make_point):
    """Three waiting bags in one arrived batch, slots given, one with many items."""
    point = make_point(name=POINT_NAME)
    first = bags.make(point=point, name="王小明", quantities=(2, 1, 3, 1, 1, 2))
    window = first.window
    others = [bags.make(point=point, staff=first.staff, window=window, name=n) for n in ("李四", "赵六")]
    # Real order numbers are this long (ordering._new_number); they must print whole.
    first.order.number = "261122-ABCDEFGHJK"
    slots.assign_slots(first.batch.id)
    db.session.commit()
    return [first, *others]


def _keep(pdf: Path, name: str) -> None:
    """LABELS_KEEP=dir saves the rendered PDFs, to look at them."""
    keep = os.environ.get("LABELS_KEEP")
    if keep:
        shutil.copy(pdf, Path(keep) / name)


def _pdftotext(pdf: Path) -> str:
    return subprocess.run([PDFTOTEXT, "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True).stdout.decode()


def _decode_pages(pdf: Path, tmp_path: Path) -> list[list[str]]:
    """Each page rasterised at 300 dpi; the QR texts zxing-cpp reads on it."""
    prefix = tmp_path / "page"
    subprocess.run([PDFTOPPM, "-r", "300", "-png", str(pdf), str(prefix)], check=True)
    pages = sorted(tmp_path.glob("page*.png"), key=lambda p: int(p.stem.split("-")[-1]))
    return [[r.text for r in zxingcpp.read_barcodes(Image.open(page))] for page in pages]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_layout_scans_back_to_the_order_and_shows_chinese(shelf, layout, tmp_path):
    bag = shelf[0]
    order = db.session.get(Order, bag.order.id)
    pdf = tmp_path / "label.pdf"
    pdf.write_bytes(labels.order_label_pdf(order, layout))
    _keep(pdf, f"label-{layout}.pdf")
    (decoded,) = _decode_pages(pdf, tmp_path)
    assert len(decoded) == 1
    fields = codes.verify_qr(decoded[0])
    assert (fields["order_id"], fields["pickup_point_id"], fields["code"]) == (order.id, bag.point.id, bag.code.code)
    text = _pdftotext(pdf)
    assert POINT_NAME[:3] in text
    assert "王**" in text and "王小明" not in text
    assert order.number in text
    assert str(order.shelf_slot) in text


def test_ticket_lists_every_item_with_prices(shelf, tmp_path):
    order = db.session.get(Order, shelf[0].order.id)
    pdf = tmp_path / "ticket.pdf"
    pdf.write_bytes(labels.order_label_pdf(order, "ticket58"))
    text = _pdftotext(pdf)
    for item in order.items:
        assert item.product_name[:4] in text
    assert "¥" in text


def test_small_label_summarises_many_items_with_a_count_of_the_rest(shelf, tmp_path):
    order = db.session.get(Order, shelf[0].order.id)
    pdf = tmp_path / "label.pdf"
    pdf.write_bytes(labels.order_label_pdf(order, "40x30"))
    assert "more" in _pdftotext(pdf)


def test_same_data_renders_identical_bytes(shelf):
    order = db.session.get(Order, shelf[0].order.id)
    for layout in LAYOUTS:
        assert labels.order_label_pdf(order, layout) == labels.order_label_pdf(order, layout)


def test_batch_pdf_is_written_under_window_and_point_in_slot_order(app, shelf, tmp_path):
    batch = shelf[0].batch
    path = labels.batch_labels_pdf(batch, "60x40")
    base = Path(app.config["PICKUP_LABELS_DIR"])
    assert path == base / str(batch.window_id) / str(batch.pickup_point_id) / f"batch-{batch.id}-60x40.pdf"
    first = path.read_bytes()
    assert labels.batch_labels_pdf(batch, "60x40").read_bytes() == first
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    pages = _pdftotext(path).split("\f")
    numbers = [db.session.get(Order, bag.order.id).number for bag in shelf]
    by_slot = sorted(shelf, key=lambda bag: db.session.get(Order, bag.order.id).shelf_slot)
    assert [next(n for n in numbers if n in page) for page in pages if page.strip()] == [
        db.session.get(Order, bag.order.id).number for bag in by_slot
    ]


def test_batch_pages_follow_slots_not_order_ids(app, shelf, tmp_path):
    a, b, c = (db.session.get(Order, bag.order.id) for bag in shelf)
    # a left the shelf and came back (undone redemption) to a higher number than b and c.
    slots.free_slot(a)
    db.session.flush()
    a.shelf_slot = 9
    db.session.execute(db.update(Order).where(Order.id == a.id).values(shelf_slot=9, live_slot=9))
    db.session.commit()
    path = labels.batch_labels_pdf(shelf[0].batch, "a4")
    text = _pdftotext(path)
    assert text.index(b.number) < text.index(c.number) < text.index(a.number)
    decoded = _decode_pages(path, tmp_path)
    assert len(decoded) == 1
    assert sorted(codes.verify_qr(t)["order_id"] for t in decoded[0]) == sorted([a.id, b.id, c.id])


def test_unknown_layout_is_a_validation_error(shelf):
    order = db.session.get(Order, shelf[0].order.id)
    with pytest.raises(labels.UnknownLayout) as caught:
        labels.order_label_pdf(order, "99x99")
    assert caught.value.status == 422 and "layout" in caught.value.fields


def test_missing_font_gives_a_clear_error(shelf, monkeypatch, tmp_path):
    monkeypatch.setenv("LABEL_FONT_PATH", str(tmp_path / "nope.ttf"))
    with pytest.raises(fonts.LabelFontMissing):
        fonts.font_path()


def test_font_path_override_is_used(shelf, monkeypatch):
    real = fonts.font_path()
    monkeypatch.setenv("LABEL_FONT_PATH", str(real))
    assert fonts.font_path() == real
    assert os.path.isfile(real)


def test_only_waiting_and_collected_bags_get_labels(shelf):
    code = db.session.scalar(select(PickupCode).where(PickupCode.order_id == shelf[2].order.id))
    assert code is not None
    db.session.execute(db.update(Order).where(Order.id == shelf[2].order.id).values(status="refunded"))
    db.session.commit()
    ids = [o.id for o in labels.batch_orders(shelf[0].batch)]
    assert ids == [shelf[0].order.id, shelf[1].order.id]
