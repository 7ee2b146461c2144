"""The CJK TrueType font that labels, tickets and share posters draw Chinese with.

ReportLab embeds TrueType (glyf) fonts only, not the CFF-based Noto CJK, so the default is
WenQuanYi Zen Hei from Debian's fonts-wqy-zenhei (a TrueType .ttc); LABEL_FONT_PATH points
elsewhere. Without one, the pages that need it answer 503 with a message saying what to install.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from app.services.core.errors import DomainError

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)


class LabelFontMissing(DomainError):
    status = 503
    code = "label_font_missing"
    default_message = _l(
        "No Chinese font for labels: install the Debian package fonts-wqy-zenhei or set LABEL_FONT_PATH."
    )


def font_path() -> Path:
    """The TrueType CJK font to draw with: LABEL_FONT_PATH, else the first Debian one present."""
    override = os.environ.get("LABEL_FONT_PATH") or current_app.config.get("LABEL_FONT_PATH")
    candidates = (override,) if override else FONT_CANDIDATES
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise LabelFontMissing()
