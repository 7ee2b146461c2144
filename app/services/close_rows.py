"""Row plumbing for closing a window at scale: chunked id lists, bulk inserts, pickup codes in bulk.

A close writes an order event and a pickup code per order, a hundred thousand of each for a big
window. Through the ORM or SQLAlchemy's per-row parameter processing that alone costs seconds, so
rows are converted once per distinct value and handed to the driver in one go: executemany on
SQLite, COPY on PostgreSQL (same connection, same transaction).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

from sqlalchemy import ARRAY, BigInteger, Table, any_, bindparam, func, literal_column, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import PickupCode
from app.services import codes

# Orders per chunk: every IN list stays far below SQLite's and PostgreSQL's parameter limits, and
# what a chunk holds in memory stays small however big the window is.
CHUNK = 5000
_MAX_TRIES = 20


def chunks(ids: Sequence[int], size: int | None = None) -> Iterator[Sequence[int]]:
    size = size or CHUNK
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def ids_in(column, ids: Sequence[int]):
    """`column IN ids` as one bound value (a JSON array on SQLite, an array on PostgreSQL): a
    chunk's thousands of ids would otherwise be thousands of parameters rendered per statement."""
    ids = list(ids)
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(BigInteger)))
    return column.in_(select(literal_column("value")).select_from(func.json_each(json.dumps(ids))))


def insert_rows(table: Table, columns: Sequence[str], rows: list[tuple]) -> None:
    """INSERT `rows` (tuples in `columns` order) into `table` in the session's transaction."""
    if not rows:
        return
    conn = db.session.connection()
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.dbapi_connection.cursor()
        # Names from our own metadata; values travel in COPY's data stream, never in the SQL.
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:  # noqa: S608
            for row in rows:
                copy.write_row(tuple(_pg_value(v) for v in row))
        return
    # Only the columns whose type converts (timestamps, JSON) are touched, each distinct value once.
    convert = [
        (n, _converter(p)) for n, name in enumerate(columns) if (p := _processor(table.c[name].type, conn.dialect))
    ]
    values = []
    for row in rows:
        row = list(row)
        for n, fn in convert:
            row[n] = fn(row[n])
        values.append(tuple(row))
    marks = ", ".join("?" * len(columns))
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", values)  # noqa: S608


def _pg_value(value):
    if isinstance(value, datetime):  # UTCDateTime columns hold naive UTC
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _processor(column_type, dialect):
    return column_type.dialect_impl(dialect).bind_processor(dialect)


def _converter(processor):
    cached = functools.lru_cache(maxsize=1024)(processor)

    def convert(value):
        # Timestamps repeat across a close's rows: convert each distinct one once.
        try:
            return cached(value)
        except TypeError:  # unhashable (a JSON detail dict)
            return processor(value)

    return convert


def issue_codes(orders: list[tuple[int, int]], live: dict[int, set[str]], now: datetime) -> int:
    """A pickup code for each (order id, pickup point id) that has none, unique among the point's
    live codes. `live` caches the live codes of points seen so far in this close. Returns count.

    Codes are drawn from the CSPRNG like codes.issue_code does, checked against the point's live
    codes read from the database, and inserted in one go inside a savepoint: if another
    transaction took one of the drawn codes meanwhile (a close of another window at the same
    point, on PostgreSQL), the unique constraint refuses the insert and the chunk is drawn again.
    """
    if not orders:
        return 0
    pc = PickupCode.__table__
    ids = [order_id for order_id, _point in orders]
    # A second issue for the same order keeps its first code, as codes.issue_code does.
    has_code = set(db.session.scalars(select(pc.c.order_id).where(ids_in(pc.c.order_id, ids))))
    wanted = [(o, p) for o, p in orders if o not in has_code]
    for _ in range(_MAX_TRIES):
        _load_live(live, {p for _o, p in wanted if p not in live})
        drawn = []
        for order_id, point_id in wanted:
            taken = live[point_id]
            code = codes.new_code()
            while code in taken:
                code = codes.new_code()
            taken.add(code)
            drawn.append((order_id, point_id, code, code, "issued", now))
        try:
            with db.session.begin_nested():
                insert_rows(pc, ("order_id", "pickup_point_id", "code", "live_code", "status", "issued_at"), drawn)
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
    for part in chunks(wanted):
        rows = db.session.execute(
            select(pc.c.pickup_point_id, pc.c.live_code).where(
                pc.c.pickup_point_id.in_(part), pc.c.live_code.is_not(None)
            )
        )
        for point_id, code in rows:
            live[point_id].add(code)
