"""A printed label as a webcam: Y4M videos for Chromium's fake capture device.

Chromium started with `--use-fake-device-for-media-stream --use-file-for-fake-video-capture=<file>.y4m`
hands the file's frames to getUserMedia instead of a real camera (and loops the file). A label PDF
from app/services/deliveries/labels.py is rasterised with pdftoppm (Debian poppler-utils), put on a white
frame large enough that the QR fills a good part of it, and written as YUV 4:2:0.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image

FRAME_MARK = b"FRAME\n"
# 4:2:0 is the only chroma layout Chromium's fake device accepts (C444 gives "Requested device not
# found"); 10 fps is plenty for a still label. Like any Y4M reader without an XCOLORRANGE tag,
# Chromium takes the samples as studio range (Y 16-235, chroma 16-240), so Pillow's full-range
# YCbCr is squeezed into it; written full-range, greys came out stretched (200 showed as 214).
HEADER = "YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n"
_STUDIO_Y = [16 + round(v * 219 / 255) for v in range(256)]
_STUDIO_C = [128 + round((v - 128) * 224 / 255) for v in range(256)]
_FULL_Y = [min(255, max(0, round((v - 16) * 255 / 219))) for v in range(256)]
MARGIN = 0.04  # of the frame, each side: a camera never sees a label edge to edge


class FakeCameraError(RuntimeError):
    pass


def rasterise(pdf_bytes: bytes, *, page: int = 1, dpi: int = 300) -> Image.Image:
    """One page of the PDF as an RGB image, as a printer at `dpi` would put it on paper."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise FakeCameraError("pdftoppm not found: apt-get install poppler-utils")
    with tempfile.TemporaryDirectory(prefix="fake-camera-") as tmp:
        pdf = Path(tmp) / "label.pdf"
        pdf.write_bytes(pdf_bytes)
        prefix = Path(tmp) / "page"
        done = subprocess.run(
            [pdftoppm, "-r", str(dpi), "-png", "-f", str(page), "-l", str(page), "-singlefile", str(pdf), str(prefix)],
            capture_output=True,
            check=False,
        )
        png = prefix.with_suffix(".png")
        if done.returncode != 0 or not png.is_file():
            raise FakeCameraError(f"pdftoppm could not render page {page}: {done.stderr.decode(errors='replace')}")
        with Image.open(png) as image:
            return image.convert("RGB")


def framed(image: Image.Image, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """The image centred on a white frame of `size`, scaled (up or down) to fill it within the margin."""
    width, height = size
    room_w, room_h = width * (1 - 2 * MARGIN), height * (1 - 2 * MARGIN)
    scale = min(room_w / image.width, room_h / image.height)
    scaled = image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.LANCZOS
    )
    canvas = Image.new("RGB", size, "white")
    canvas.paste(scaled, ((width - scaled.width) // 2, (height - scaled.height) // 2))
    return canvas


def _yuv420(image: Image.Image) -> bytes:
    """One frame's planes in studio range: Y at full size, then Cb and Cr each averaged over 2×2 pixels."""
    y, cb, cr = image.convert("YCbCr").split()
    return (
        y.point(_STUDIO_Y).tobytes() + cb.reduce(2).point(_STUDIO_C).tobytes() + cr.reduce(2).point(_STUDIO_C).tobytes()
    )


def write_y4m(image: Image.Image, path: Path, *, frames: int = 30) -> Path:
    """`frames` copies of the image as a Y4M file (4:2:0 needs even width and height)."""
    if image.width % 2 or image.height % 2:
        raise FakeCameraError(f"4:2:0 needs an even frame size, not {image.width}×{image.height}")
    if frames < 1:
        raise FakeCameraError("a video needs at least one frame")
    planes = _yuv420(image)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        out.write(HEADER.format(w=image.width, h=image.height).encode("ascii"))
        for _ in range(frames):
            out.write(FRAME_MARK)
            out.write(planes)
    return path


def label_video(
    pdf_bytes: bytes,
    out_dir: Path,
    *,
    page: int = 1,
    frames: int = 30,
    size: tuple[int, int] = (640, 480),
    dpi: int = 300,
    name: str = "label.y4m",
) -> Path:
    """A camera pointed at the printed label on page `page` of the PDF: the Y4M file's path."""
    return write_y4m(framed(rasterise(pdf_bytes, page=page, dpi=dpi), size), Path(out_dir) / name, frames=frames)


def blank_video(
    out_dir: Path, *, frames: int = 30, size: tuple[int, int] = (640, 480), name: str = "blank.y4m"
) -> Path:
    """A camera that sees only a white wall (nothing to scan)."""
    return write_y4m(Image.new("RGB", size, "white"), Path(out_dir) / name, frames=frames)


def read_frame(path: Path, index: int = 0) -> Image.Image:
    """Frame `index` of a Y4M file written here: its Y plane as the grayscale image a page would see."""
    data = Path(path).read_bytes()
    header, _, rest = data.partition(b"\n")
    tags = header.split()
    if not tags or tags[0] != b"YUV4MPEG2":
        raise FakeCameraError(f"{path} is not a Y4M file")
    width = int(next(t[1:] for t in tags if t.startswith(b"W")))
    height = int(next(t[1:] for t in tags if t.startswith(b"H")))
    frame_len = len(FRAME_MARK) + width * height * 3 // 2
    start = index * frame_len
    frame = rest[start : start + frame_len]
    if len(frame) != frame_len or not frame.startswith(FRAME_MARK):
        raise FakeCameraError(f"{path} has no frame {index}")
    luma = frame[len(FRAME_MARK) : len(FRAME_MARK) + width * height]
    return Image.frombytes("L", (width, height), luma).point(_FULL_Y)


def shown_then_taken_away(
    pdf_bytes: bytes, out_dir: Path, *, shown: int = 15, away: int = 45, name: str = "shown-away.y4m"
) -> Path:
    """A label held up to the camera for `shown` frames, then out of sight for `away` frames (at
    the header's 10 fps), looped by Chromium: each loop is the same label scanned once more."""
    label = _yuv420(framed(rasterise(pdf_bytes)))
    blank = _yuv420(Image.new("RGB", (640, 480), "white"))
    path = Path(out_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        out.write(HEADER.format(w=640, h=480).encode("ascii"))
        for planes in [label] * shown + [blank] * away:
            out.write(FRAME_MARK)
            out.write(planes)
    return path
