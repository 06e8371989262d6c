"""Percentiles in the database: exact for ordinary selections, sampled for huge ones.

The definition is the nearest-rank value (``percentile_disc``: the smallest value with at
least a share *q* of the values at or below it), the same on both backends:

* SQLite has no ordered-set aggregates: one ``ORDER BY … LIMIT 1 OFFSET k`` per quantile,
  and window functions (``row_number() OVER (PARTITION BY bucket …)``) per time bucket.
* Postgres: ``percentile_disc(…) WITHIN GROUP (ORDER BY …)``. Sorting every selected row
  takes seconds at millions of rows (2.8 s for 5 M on two cores), so beyond
  :data:`EXACT_LIMIT` selected rows the same aggregate runs on a ``TABLESAMPLE SYSTEM``
  block sample sized to keep about that many rows (fixed seed: refreshes agree). The
  result is then an estimate (for the p99 of 200,000 sampled values, within a fraction of
  a percent of ranks) and the page says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from fraudwatch.dashboard.filters import Filters
from fraudwatch.dashboard.selection import decisions, filtered_from

#: Above this many selected rows, Postgres percentiles come from a sample of about this size.
EXACT_LIMIT = 200_000
_SAMPLE_SEED = 42
Slot = Callable[[sa.FromClause], Any]


def sample_percent(selected: int, limit: int | None = None) -> float | None:
    """The TABLESAMPLE percentage that keeps about ``limit`` (default :data:`EXACT_LIMIT`)
    of ``selected`` rows (None: all of them, exactly)."""
    limit = EXACT_LIMIT if limit is None else limit
    if selected <= limit:
        return None
    return max(0.01, round(100.0 * limit / selected, 3))


def _source(percent: float | None) -> sa.FromClause:
    if percent is None:
        return decisions
    return sa.tablesample(
        decisions, sa.func.system(percent), name="sampled", seed=sa.literal(_SAMPLE_SEED)
    )


def quantiles(
    conn: Connection,
    backend: str,
    filters: Filters,
    column: str,
    wanted: Sequence[float],
    selected: int,
) -> tuple[list[float | None], float | None]:
    """Nearest-rank quantiles of a decisions column over the filtered rows.

    ``selected`` is how many rows the filters select (known from the caller's aggregate).
    Returns the values and the sample percentage used (None: exact).
    """
    if selected == 0:
        return [None] * len(wanted), None
    if backend != "postgresql":
        return [_nearest_rank(conn, filters, column, selected, q) for q in wanted], None
    percent = sample_percent(selected)
    table = _source(percent)
    joined, _label, where = filtered_from(filters, table)
    aggregate = sa.func.percentile_disc(postgresql.array(list(wanted)))
    statement = sa.select(aggregate.within_group(table.c[column])).select_from(joined).where(*where)
    values = conn.execute(statement).scalar_one_or_none()
    if not values:  # a sample can miss a tiny selection entirely: fall back to exact
        if percent is None:
            return [None] * len(wanted), None
        exact = filtered_from(filters)
        statement = (
            sa.select(aggregate.within_group(decisions.c[column]))
            .select_from(exact[0])
            .where(*exact[2])
        )
        values, percent = conn.execute(statement).scalar_one_or_none() or [], None
    return [None if v is None else float(v) for v in values] or [None] * len(wanted), percent


def _nearest_rank(
    conn: Connection, filters: Filters, column: str, selected: int, quantile: float
) -> float | None:
    joined, _label, where = filtered_from(filters)
    rank = max(1, math.ceil(quantile * selected))
    target = decisions.c[column]
    statement = (
        sa.select(target).select_from(joined).where(*where).order_by(target).offset(rank - 1)
    ).limit(1)
    value = conn.execute(statement).scalar_one_or_none()
    return None if value is None else float(value)


def bucket_p95(
    conn: Connection, backend: str, filters: Filters, slot: Slot, selected: int
) -> tuple[pd.DataFrame, float | None]:
    """Nearest-rank p95 of the fraud probability per time bucket (``bucket_start``, value)."""
    columns = ["bucket_start", "p95_probability"]
    if backend != "postgresql":
        return _sqlite_bucket_p95(conn, filters, slot), None
    percent = sample_percent(selected)
    table = _source(percent)
    joined, _label, where = filtered_from(filters, table)
    start = slot(table).label("bucket_start")
    p95 = sa.func.percentile_disc(0.95).within_group(table.c.fraud_probability)
    statement = (
        sa.select(start, p95.label("p95_probability"))
        .select_from(joined)
        .where(*where)
        .group_by(start)
    )
    rows = conn.execute(statement).mappings().all()
    return pd.DataFrame(rows, columns=columns), percent


def _sqlite_bucket_p95(conn: Connection, filters: Filters, slot: Slot) -> pd.DataFrame:
    joined, _label, where = filtered_from(filters)
    start = slot(decisions)
    probability = decisions.c.fraud_probability
    ranked = (
        sa.select(
            start.label("bucket_start"),
            probability.label("probability"),
            sa.func.row_number().over(partition_by=start, order_by=probability).label("position"),
            sa.func.count().over(partition_by=start).label("size"),
        )
        .select_from(joined)
        .where(*where)
        .subquery("ranked")
    )
    wanted = (ranked.c.size * 95 + 99) / 100  # ceil(0.95 * size) in integers
    statement = sa.select(
        ranked.c.bucket_start, ranked.c.probability.label("p95_probability")
    ).where(ranked.c.position == sa.cast(wanted, sa.Integer))
    rows = conn.execute(statement).mappings().all()
    return pd.DataFrame(rows, columns=["bucket_start", "p95_probability"])
