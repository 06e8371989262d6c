"""Covering event-time index and group statistics for the dashboard's overview aggregate.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

On PostgreSQL, ``ix_decisions_event_time`` becomes ``(event_time) INCLUDE (category, state,
decision, risk_level, amount, fraud_probability, latency_ms, inserted_at)``: the overview's
aggregate (per category × state × time bucket) then runs as an index-only scan over
narrow index tuples instead of a sequential scan of the wide ``decisions`` rows (card
token, merchant, reasons …), about 3× fewer pages at millions of rows. The key is still
``event_time``, so time ranges, ``min``/``max`` and the newest rows use it as before.

Also on PostgreSQL, extended statistics (``ndistinct``) on the overview's daily grouping
keys — category, ``coalesce(state, 'unknown')`` and the day bucket, exactly as
``fraudwatch.dashboard.buckets`` writes it. Without them the planner guesses one group per
row (it knows nothing about the bucket expression), so it never splits the aggregate over
parallel workers; with them it estimates the ~20,000 groups of 30 days of data and does.

SQLite has no ``INCLUDE`` nor extended statistics: there the index stays the plain one and
this revision changes nothing. On a large PostgreSQL table, the upgrade rebuilds the index
(about 5 s per 5 M rows on two cores) and blocks writes to ``decisions`` meanwhile; reads
go on.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_decisions_event_time"
#: The columns the index carries besides its key (frozen: the tables module may change).
INCLUDED = (
    "category",
    "state",
    "decision",
    "risk_level",
    "amount",
    "fraud_probability",
    "latency_ms",
    "inserted_at",
)


STATISTICS = "st_decisions_overview_day"
#: The overview's day grouping, as the dashboard sends it (a test holds them equal).
DAY_GROUPING = (
    "category, (coalesce(state, 'unknown')), "
    "(date_bin('1 day'::interval, event_time, '2000-01-03 00:00:00'::timestamp))"
)


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    """Rebuild the event-time index with the dashboard's columns included (PostgreSQL only)."""
    if not _postgresql():
        return
    op.drop_index(INDEX, table_name="decisions")
    op.create_index(INDEX, "decisions", ["event_time"], postgresql_include=list(INCLUDED))
    op.execute(f"CREATE STATISTICS {STATISTICS} (ndistinct) ON {DAY_GROUPING} FROM decisions")
    op.execute("ANALYZE decisions")  # the statistics are empty until the next ANALYZE


def downgrade() -> None:
    """Back to the plain event-time index, without the statistics (PostgreSQL only)."""
    if not _postgresql():
        return
    op.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")
    op.drop_index(INDEX, table_name="decisions")
    op.create_index(INDEX, "decisions", ["event_time"])
