"""Row plumbing for work at scale (a window's close, a close's refunds): chunked id lists, bulk inserts.

A close writes an order event and a pickup code per order, a hundred thousand of each for a big
window. Through the ORM or SQLAlchemy's per-row parameter processing that alone costs seconds, so
rows are converted once per distinct value and handed to the driver in one go: executemany on
SQLite, COPY on PostgreSQL (same connection, same transaction).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from sqlalchemy import ARRAY, BigInteger, Table, any_, bindparam, func, literal_column, select

from app.extensions import db

# Orders per chunk: every IN list stays far below SQLite's and PostgreSQL's parameter limits, and
# what a chunk holds in memory stays small however big the window is.
CHUNK = 5000


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
