"""Pickup codes: 8 digits from a CSPRNG for typing, and a signed QR payload for scanning.

The QR text is `GB1.<kid>.<order>.<point>.<code>.<issued unix>.<signature>`, signed with
Ed25519 so that the server, and later an offline device holding only the public keys, can tell
a real label from a forged one (DESIGN.md §4.4). Keys live under instance/pickup_keys/; a
rotation adds a key and old public keys keep verifying.
"""

from __future__ import annotations

import base64
import io
import os
import secrets
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import qrcode
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Order, PickupCode
from app.services.core import bulk_rows, clock
from app.services.core.errors import BadSignature

QR_VERSION = "GB1"
_MAX_TRIES = 20
_CODE_COLUMNS = ("order_id", "pickup_point_id", "code", "live_code", "status", "issued_at")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_code() -> str:
    return f"{secrets.randbelow(10**8):08d}"


def format_code(code: str) -> str:
    return f"{code[:4]} {code[4:]}"


def issue_code(order: Order) -> PickupCode:
    """Give a confirmed order its code, unique among live codes of its pickup point.

    A collision (1 in 10^8 per live code) is retried inside a savepoint so the caller's
    transaction survives; a second issue for the same order returns the first code.
    """
    existing = db.session.scalar(select(PickupCode).where(PickupCode.order_id == order.id))
    if existing is not None:
        return existing
    for _ in range(_MAX_TRIES):
        code = new_code()
        row = PickupCode(
            order_id=order.id,
            pickup_point_id=order.pickup_point_id,
            code=code,
            live_code=code,
            status="issued",
            issued_at=clock.now(),
        )
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:
            existing = db.session.scalar(select(PickupCode).where(PickupCode.order_id == order.id))
            if existing is not None:
                return existing
            continue
        return row
    raise RuntimeError("could not find a free pickup code")  # pragma: no cover - 20 collisions


def void_code(order_id: int) -> bool:
    """Void the order's live code (cancelled or refunded order). True if it was live."""
    return bool(
        db.session.execute(
            update(PickupCode)
            .where(PickupCode.order_id == order_id, PickupCode.status == "issued")
            .values(status="void", live_code=None)
            .execution_options(synchronize_session=False)
        ).rowcount
    )


# Built once: the counter runs it on every whole hand-over (app.services.counter.redemption_rows).
_REDEEM = (
    update(PickupCode.__table__)
    .where(PickupCode.__table__.c.id == bindparam("code_id"), PickupCode.__table__.c.status == "issued")
    .values(status="redeemed", live_code=None, redeemed_at=bindparam("at"), redeemed_by_id=bindparam("by"))
)


def redeem(conn: Connection, code_id: int, user_id: int, now: datetime) -> bool:
    """issued → redeemed, once, on the session's connection. False if it was not issued."""
    return bool(conn.execute(_REDEEM, {"code_id": code_id, "at": now, "by": user_id}).rowcount)


def reopen(code: PickupCode) -> bool:
    """redeemed → issued again (an undone hand-over), its number live again. False if it was not
    redeemed; IntegrityError (the savepoint rolled back) if the point gave the number to another
    order meanwhile."""
    with db.session.begin_nested():
        return bool(
            db.session.execute(
                update(PickupCode)
                .where(PickupCode.id == code.id, PickupCode.status == "redeemed")
                .values(status="issued", live_code=code.code, redeemed_at=None, redeemed_by_id=None)
                .execution_options(synchronize_session=False)
            ).rowcount
        )


# ---- signing keys


def _key_dir() -> Path:
    path = Path(current_app.instance_path) / "pickup_keys"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _load_private(path: Path) -> Ed25519PrivateKey:
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def _key_files() -> list[Path]:
    return sorted(_key_dir().glob("ed25519-*.pem"))


def rotate_key() -> str:
    """Create a new signing key; it signs from now on, older keys still verify. Returns kid."""
    key = Ed25519PrivateKey.generate()
    kid = f"{len(_key_files()) + 1:03d}"
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path = _key_dir() / f"ed25519-{kid}.pem"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process rotated at the same moment; use its key
        return kid
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return kid


def _current_key() -> tuple[str, Ed25519PrivateKey]:
    files = _key_files()
    if not files:
        rotate_key()
        files = _key_files()
    path = files[-1]
    return path.stem.removeprefix("ed25519-"), _load_private(path)


@lru_cache(maxsize=8)
def _public_keys_of(files: tuple[Path, ...]) -> dict[str, str]:
    keys = {}
    for path in files:
        raw = _load_private(path).public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        keys[path.stem.removeprefix("ed25519-")] = _b64(raw)
    return keys


def public_keys() -> dict[str, str]:
    """kid -> raw Ed25519 public key (base64url), for devices that verify offline.

    Every scan verifies a QR, so the PEM files are parsed once per set of key files (a rotation
    adds a file and so a new set), not on every request."""
    if not _key_files():
        # On a fresh install the first key is made when the first QR is signed; a device asking
        # for the keys before that must still get the key that will sign, or it refuses every QR.
        _current_key()
    return dict(_public_keys_of(tuple(_key_files())))


def qr_text(code: PickupCode) -> str:
    """The signed payload printed in the QR for this code."""
    kid, key = _current_key()
    body = f"{QR_VERSION}.{kid}.{code.order_id}.{code.pickup_point_id}.{code.code}.{int(code.issued_at.timestamp())}"
    return f"{body}.{_b64(key.sign(body.encode()))}"


def verify_qr(text: str) -> dict:
    """Check a scanned payload's signature; return its fields or raise BadSignature."""
    parts = (text or "").strip().split(".")
    if len(parts) != 7 or parts[0] != QR_VERSION or len(text) > 300:
        raise BadSignature()
    version, kid, order_id, point_id, code, issued, signature = parts
    raw = public_keys().get(kid)
    if raw is None or not (order_id.isdigit() and point_id.isdigit() and issued.isdigit()):
        raise BadSignature()
    if len(code) != 8 or not code.isdigit():
        raise BadSignature()
    try:
        Ed25519PublicKey.from_public_bytes(_unb64(raw)).verify(_unb64(signature), ".".join(parts[:6]).encode())
    except (InvalidSignature, ValueError):
        raise BadSignature() from None
    return {
        "kid": kid,
        "order_id": int(order_id),
        "pickup_point_id": int(point_id),
        "code": code,
        "issued_at": int(issued),
    }


def qr_png(text: str, box_size: int = 8) -> bytes:
    image = qrcode.make(text, box_size=box_size, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# ---- many codes at once (a window's close)


def issue_codes(orders: list[tuple[int, int]], live: dict[int, set[str]], now: datetime) -> int:
    """A pickup code for each (order id, pickup point id) that has none, unique among the point's
    live codes. `live` caches the live codes of points seen so far in this close. Returns count.

    Codes are drawn from the CSPRNG like issue_code does, checked against the point's live
    codes read from the database, and inserted in one go inside a savepoint: if another
    transaction took one of the drawn codes meanwhile (a close of another window at the same
    point, on PostgreSQL), the unique constraint refuses the insert and the chunk is drawn again.
    """
    if not orders:
        return 0
    pc = PickupCode.__table__
    ids = [order_id for order_id, _point in orders]
    # A second issue for the same order keeps its first code, as issue_code does.
    has_code = set(db.session.scalars(select(pc.c.order_id).where(bulk_rows.ids_in(pc.c.order_id, ids))))
    wanted = [(o, p) for o, p in orders if o not in has_code]
    for _ in range(_MAX_TRIES):
        _load_live(live, {p for _o, p in wanted if p not in live})
        drawn = []
        for order_id, point_id in wanted:
            taken = live[point_id]
            code = new_code()
            while code in taken:
                code = new_code()
            taken.add(code)
            drawn.append((order_id, point_id, code, code, "issued", now))
        try:
            with db.session.begin_nested():
                bulk_rows.insert_rows(
                    pc, ("order_id", "pickup_point_id", "code", "live_code", "status", "issued_at"), drawn
                )
        except (IntegrityError, _driver_integrity_error()):
            for _order, point_id, *_rest in drawn:
                live.pop(point_id, None)  # read the points' live codes again, then draw again
            continue
        return len(drawn)
    raise RuntimeError("could not find free pickup codes")  # pragma: no cover - 20 collisions in a row


def _driver_integrity_error() -> type[Exception]:
    # COPY runs on the driver's cursor, so its errors come unwrapped by SQLAlchemy.
    return db.session.connection().dialect.dbapi.IntegrityError


def _load_live(live: dict[int, set[str]], point_ids: Iterable[int]) -> None:
    pc = PickupCode.__table__
    wanted = sorted(point_ids)
    for point_id in wanted:
        live[point_id] = set()
    for part in bulk_rows.chunks(wanted):
        rows = db.session.execute(
            select(pc.c.pickup_point_id, pc.c.live_code).where(
                pc.c.pickup_point_id.in_(part), pc.c.live_code.is_not(None)
            )
        )
        for point_id, code in rows:
            live[point_id].add(code)
