"""The fake webcam really films a scannable label: the QR read back from the video's frame is the order's."""

import shutil
from pathlib import Path

import pytest

from app.extensions import db
from app.models import Order
from app.services.core import fonts
from app.services.deliveries import labels
from app.services.pickup import codes
from tests.support.engines import IN_CI
from tests.support.pickup import Bags

if not shutil.which("pdftoppm"):
    if IN_CI:
        raise RuntimeError("pdftoppm (Debian poppler-utils) is required in CI")
    pytest.skip("poppler-utils not installed", allow_module_level=True)
if not any(Path(p).is_file() for p in fonts.FONT_CANDIDATES):
    if IN_CI:
        raise RuntimeError("a CJK TrueType font (Debian fonts-wqy-zenhei) is required in CI")
    pytest.skip("no CJK font for labels: apt-get install fonts-wqy-zenhei", allow_module_level=True)

import zxingcpp  # noqa: E402  (dev requirement)

from tests.support.fake_camera import FakeCameraError, blank_video, label_video, read_frame  # noqa: E402

HEADER = b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n"
FRAME_BYTES = len(b"FRAME\n") + 640 * 480 * 3 // 2


@pytest.fixture
def bag(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order).make(name="王小明", quantities=(2, 1))


def _label_pdf(bag, layout: str) -> bytes:
    return labels.order_label_pdf(db.session.get(Order, bag.order.id), layout)


@pytest.mark.parametrize("layout", ["40x30", "50x30", "60x40"])
def test_the_video_frame_scans_back_to_the_orders_code(bag, layout, tmp_path):
    video = label_video(_label_pdf(bag, layout), tmp_path)

    decoded = [r.text for r in zxingcpp.read_barcodes(read_frame(video, 0))]
    assert decoded == [codes.qr_text(bag.code)]
    assert codes.verify_qr(decoded[0])["order_id"] == bag.order.id


def test_every_frame_carries_the_label_in_the_format_chromium_reads(bag, tmp_path):
    video = label_video(_label_pdf(bag, "60x40"), tmp_path, frames=3)

    data = video.read_bytes()
    assert data.startswith(HEADER)
    assert len(data) == len(HEADER) + 3 * FRAME_BYTES
    frames = [read_frame(video, i) for i in range(3)]
    assert all(frame.tobytes() == frames[0].tobytes() for frame in frames)
    with pytest.raises(FakeCameraError):
        read_frame(video, 3)


def test_the_qr_fills_a_good_part_of_the_frame(bag, tmp_path):
    """A phone scanner needs the code large in view, as a customer holds the bag up to it."""
    video = label_video(_label_pdf(bag, "50x30"), tmp_path)

    (found,) = zxingcpp.read_barcodes(read_frame(video))
    xs = [found.position.top_left.x, found.position.bottom_right.x]
    ys = [found.position.top_left.y, found.position.bottom_right.y]
    assert max(ys) - min(ys) > 480 // 3
    assert max(xs) - min(xs) > 640 // 4


def test_a_blank_camera_sees_no_code(tmp_path):
    video = blank_video(tmp_path)

    assert video.read_bytes().startswith(HEADER)
    assert zxingcpp.read_barcodes(read_frame(video)) == []


def test_a_page_the_pdf_does_not_have_is_a_clear_error(bag, tmp_path):
    with pytest.raises(FakeCameraError, match="page 2"):
        label_video(_label_pdf(bag, "60x40"), tmp_path, page=2)
