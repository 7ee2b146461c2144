"""Looking for pickup codes, or anything computed from one, in what a device is given or keeps.

An 8-digit code has only 10^8 values, so a plain or keyed hash of it is as good as the code to
whoever holds the key (DESIGN.md §4.12). These helpers try the likely ways: the digits, SHA-256
of them, and HMAC-SHA256 of them under the app's secret, version 1's manifest key and every
string in the text that could serve as a key, each written as hex, base64 or base64url.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable

from app.services.pickup import codes

# Runs of key-like characters long enough to hold a 128-bit key in base64 or hex.
_TOKEN = re.compile(r"[A-Za-z0-9_\-+/]{22,}={0,2}")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def version_1_key(secret: str, point_id: int, day: str) -> bytes:
    """The HMAC key manifest version 1 shipped (per point and local day, derived from SECRET_KEY)."""
    return hmac.new(secret.encode(), f"gb-offline-manifest|{point_id}|{day}".encode(), hashlib.sha256).digest()


def _unb64(text: str) -> bytes:
    text = text.rstrip("=").replace("+", "-").replace("/", "_")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def as_keys(text: str) -> list[bytes]:
    """Every way a string could serve as a key: its bytes, and base64(url)- or hex-decoded."""
    keys = [text.encode()]
    for decode in (_unb64, bytes.fromhex):
        try:
            keys.append(decode(text))
        except ValueError:
            pass
    return keys


def keys_in(text: str) -> list[bytes]:
    return [key for token in set(_TOKEN.findall(text)) for key in as_keys(token)]


def leaks(text: str, digits: Iterable[str], keys: Iterable[bytes] = ()) -> list[str]:
    """What of each code (digits, or a hash of them under `keys` or any key-like string in
    `text`) appears in `text`: empty when nothing does."""
    keys = [*keys, *keys_in(text)]
    found = []
    for code in digits:
        if code in text or codes.format_code(code) in text:
            found.append(f"{code} in clear")
        digests = [hashlib.sha256(code.encode()).digest()]
        digests += [hmac.new(key, code.encode(), hashlib.sha256).digest() for key in keys]
        for digest in digests:
            for form in (digest.hex(), b64url(digest), base64.b64encode(digest).decode()):
                if form in text:
                    found.append(f"a hash of {code}: {form}")
    return found
