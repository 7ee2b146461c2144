"""The installable app: its icons, the files the service worker keeps for offline use, and the
npm-installed browser libraries the app serves itself (never a CDN, never a copy in the repo).

It sits beside the domain packages, in none: it is the web app's shell, which every role uses."""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "app" / "static"
# name served under /vendor/ → file inside node_modules (package.json pins the versions).
VENDOR = {"jsqr.js": "jsqr/dist/jsQR.js"}
ICON_SIZES = (192, 512)
BRAND = (228, 87, 46)
# Static files every page of the PWA needs offline: the stylesheet, the registration script and
# every module of the scanner (listed from the folder, so a new module cannot be forgotten).
SHELL_STATIC = (
    "css/tokens.css",
    "css/ui.css",
    "css/app.css",
    "js/pwa.js",
    "js/page.js",
    *sorted(f"js/scanner/{path.name}" for path in (STATIC / "js" / "scanner").glob("*.js")),
)


def vendor_path(name: str) -> Path | None:
    relative = VENDOR.get(name)
    if relative is None:
        return None
    path = ROOT / "node_modules" / relative
    return path if path.is_file() else None


@lru_cache(maxsize=8)
def icon_png(size: int, maskable: bool = False) -> bytes:
    """The app icon, drawn here rather than shipped as a binary: a white shopping bag with a tick
    on the brand colour. A maskable icon keeps the drawing inside the central 80% safe zone."""
    scale = 4  # drawn large then reduced, for smooth edges
    big = size * scale
    # A maskable icon is a full square (the launcher cuts its own shape); the plain one is rounded.
    image = Image.new("RGB", (big, big), BRAND) if maskable else Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if not maskable:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 5, fill=BRAND)
    unit = big * (0.56 if maskable else 0.7) / 10
    left, top = (big - 10 * unit) / 2, (big - 10 * unit) / 2 + unit * 0.6
    white = (255, 255, 255)
    draw.arc(
        (left + 2.6 * unit, top - 1.6 * unit, left + 7.4 * unit, top + 3 * unit),
        180,
        360,
        fill=white,
        width=int(unit * 0.8),
    )
    draw.rounded_rectangle((left, top + 0.6 * unit, left + 10 * unit, top + 9.4 * unit), radius=int(unit), fill=white)
    draw.line(
        [
            (left + 2.8 * unit, top + 5.2 * unit),
            (left + 4.4 * unit, top + 6.8 * unit),
            (left + 7.4 * unit, top + 3.6 * unit),
        ],
        fill=BRAND,
        width=int(unit * 1.1),
        joint="curve",
    )
    image = image.resize((size, size), Image.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _shell_files() -> list[Path]:
    files = [STATIC / relative for relative in SHELL_STATIC]
    return files + [path for path in (vendor_path(name) for name in sorted(VENDOR)) if path is not None]


@lru_cache(maxsize=4)
def _digest(stamps: tuple[tuple[str, int], ...]) -> str:
    digest = hashlib.sha256()
    for name, _mtime in stamps:
        digest.update(Path(name).read_bytes())
    return digest.hexdigest()[:16]


def shell_version() -> str:
    """A digest of everything the worker precaches, so any change installs a new worker.
    Browsers fetch /sw.js on every navigation: the files are read again only when one changed."""
    return _digest(tuple((str(path), path.stat().st_mtime_ns) for path in _shell_files()))
