"""Time buckets of the trend charts, in SQL for each backend.

The bucket width follows the time range shown (minutes up to 6 hours, hours up to 14 days,
days beyond). Postgres computes bucket starts with ``date_bin`` (a third cheaper than
``date_trunc`` over millions of rows); SQLite, which stores times as ISO text, with
``strftime``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

Bucket = Literal["minute", "hour", "day"]
WIDTHS: dict[Bucket, timedelta] = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}
_SQLITE_FORMATS: dict[Bucket, str] = {
    "minute": "%Y-%m-%d %H:%M:00",
    "hour": "%Y-%m-%d %H:00:00",
    "day": "%Y-%m-%d 00:00:00",
}
_ORIGIN = datetime(2000, 1, 3)  # a Monday, so weekly bins would start on Mondays too


def choose_bucket(start: datetime | None, end: datetime | None) -> Bucket:
    """Minute buckets for up to 6 hours, hours for up to 14 days, days beyond."""
    if start is None or end is None:
        return "day"
    span = end - start
    if span <= timedelta(hours=6):
        return "minute"
    if span <= timedelta(days=14):
        return "hour"
    return "day"


def bucket_count(start: datetime | None, end: datetime | None, bucket: Bucket) -> int:
    """How many buckets of this width the range spans (at least 1)."""
    if start is None or end is None:
        return 1
    return max(1, int((end - start) / WIDTHS[bucket]) + 1)


def bucket_expression(backend: str, column: ColumnElement[Any], bucket: Bucket) -> Any:
    """The start of ``column``'s time bucket, in SQL for the backend."""
    if bucket not in WIDTHS:  # the name becomes SQL text below
        raise ValueError(f"unknown time bucket {bucket!r}")
    if backend == "postgresql":
        origin = sa.literal(_ORIGIN, sa.DateTime())
        return sa.func.date_bin(sa.text(f"interval '1 {bucket}'"), column, origin)
    return sa.func.strftime(_SQLITE_FORMATS[bucket], column)


def slot_of(backend: str, bucket: Bucket) -> Callable[[sa.FromClause], Any]:
    """A function giving the bucket start of a table's (or a sample's) ``event_time``."""
    return lambda table: bucket_expression(backend, table.c.event_time, bucket)
