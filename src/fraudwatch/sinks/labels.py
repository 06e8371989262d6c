"""Label reports in the store: by source, idempotent, pending until their transaction arrives.

Every report is kept, whatever its source (``chargeback`` from the issuer, ``analyst``
verdicts); the *effective* label of a transaction is its newest chargeback if it has one,
else its newest analyst verdict (:func:`effective_labels`). A report of a transaction not
stored yet waits in ``pending_labels`` and moves to ``labels`` when the transaction is there
(:func:`apply_pending`). Sending the same report twice (same transaction, source, label,
reporter and ``reported_at``) stores one row: the tables' report key with ``ON CONFLICT DO
NOTHING``.

A label reaches the features only from a recorded stream time, ``effective_at``: the newest
event time stored in ``decisions`` when the label is applied (or a time the caller passes),
so a replay of the stream can feed it at the same point and give the same decisions
(:func:`labels_for_features`, :mod:`fraudwatch.features.late_labels`).

Every function takes the caller's open connection and never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fraudwatch.monitoring import LiveFigures, live_figures
from fraudwatch.sinks import tables
from fraudwatch.sinks.bulk import dialect_insert
from fraudwatch.sources.labels import LabelReport

_IN_CHUNK = 500  # trans_nums per IN list (well under SQLite's parameter limit)
_COPIED = ("trans_num", "is_fraud", "source", "analyst", "note", "reported_at")


@dataclass(frozen=True)
class LabelOutcome:
    """What became of a set of reports."""

    received: int
    #: stored as labels of transactions already in the store
    applied: int
    #: stored in ``pending_labels``: their transaction is not stored yet
    pending: int
    #: already stored before (or twice in the input): nothing written
    duplicates: int

    @property
    def stored(self) -> int:
        """Reports written (applied or pending)."""
        return self.applied + self.pending


@dataclass(frozen=True)
class LabelCursor:
    """How far the features have read ``labels``: the last ``(effective_at, id)`` fed."""

    effective_at: datetime
    label_id: int


def naive_utc(moment: datetime) -> datetime:
    """A time as naive UTC, the form of ``decisions.event_time`` and ``labels.effective_at``."""
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def stream_clock(conn: Connection) -> datetime | None:
    """The newest event time stored in ``decisions`` (None while it is empty)."""
    value = conn.execute(sa.select(sa.func.max(tables.decisions.c.event_time))).scalar_one()
    return value if value is None or isinstance(value, datetime) else pd.Timestamp(value)


def _stored_trans_nums(conn: Connection, trans_nums: Sequence[str]) -> set[str]:
    found: set[str] = set()
    column = tables.decisions.c.trans_num
    unique = sorted(set(trans_nums))
    for start in range(0, len(unique), _IN_CHUNK):
        chunk = unique[start : start + _IN_CHUNK]
        found.update(conn.execute(sa.select(column).where(column.in_(chunk))).scalars())
    return found


def _insert_new(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> int:
    """Insert rows, skipping those whose report is stored; returns how many were new."""
    if not rows:
        return 0
    insert = dialect_insert(conn, table).on_conflict_do_nothing().returning(table.c.id)
    return len(conn.execute(insert, rows).all())


def add_labels(
    conn: Connection, reports: Sequence[LabelReport], effective_at: datetime | None = None
) -> LabelOutcome:
    """Store reports: labels of stored transactions, the others pending.

    ``effective_at``: the stream time from which the applied labels count for features;
    default the stream clock (:func:`stream_clock`).
    """
    rows = {tuple(row[name] for name in tables.LABEL_REPORT_KEY): row for row in _rows(reports)}
    known = _stored_trans_nums(conn, [row["trans_num"] for row in rows.values()])
    clock = naive_utc(effective_at) if effective_at is not None else stream_clock(conn)
    ready = [row | {"effective_at": clock} for row in rows.values() if row["trans_num"] in known]
    waiting = [row for row in rows.values() if row["trans_num"] not in known]
    applied = _insert_new(conn, tables.labels, ready)
    pending = _insert_new(conn, tables.pending_labels, waiting)
    return LabelOutcome(len(reports), applied, pending, len(reports) - applied - pending)


def _rows(reports: Sequence[LabelReport]) -> list[dict[str, Any]]:
    rows = []
    for report in reports:
        row = report.row()
        row["reported_at"] = naive_utc(row["reported_at"]).replace(tzinfo=UTC)
        rows.append(row)
    return rows


def apply_pending(conn: Connection, effective_at: datetime | None = None) -> int:
    """Move pending labels whose transaction is now stored into ``labels``; returns how many.

    They take effect at ``effective_at`` (default: the stream clock now).
    """
    pending, decisions = tables.pending_labels, tables.decisions
    query = sa.select(pending.c.id, *(pending.c[name] for name in _COPIED)).join(
        decisions, decisions.c.trans_num == pending.c.trans_num
    )
    found = conn.execute(query).mappings().all()
    if not found:
        return 0
    clock = naive_utc(effective_at) if effective_at is not None else stream_clock(conn)
    rows = [{name: row[name] for name in _COPIED} | {"effective_at": clock} for row in found]
    applied = _insert_new(conn, tables.labels, rows)  # a report stored meanwhile is skipped
    ids = [row["id"] for row in found]
    for start in range(0, len(ids), _IN_CHUNK):
        conn.execute(sa.delete(pending).where(pending.c.id.in_(ids[start : start + _IN_CHUNK])))
    return applied


def effective_labels() -> sa.Subquery:
    """One row per labelled transaction: its newest chargeback, else its newest verdict.

    Columns ``trans_num``, ``is_fraud``, ``source``, ``reported_at``, ``effective_at``.
    """
    labels = tables.labels
    rank = sa.func.row_number().over(
        partition_by=labels.c.trans_num,
        order_by=(
            sa.case((labels.c.source == "chargeback", 0), else_=1),
            labels.c.reported_at.desc(),
            labels.c.id.desc(),
        ),
    )
    ranked = sa.select(
        labels.c.trans_num,
        labels.c.is_fraud,
        labels.c.source,
        labels.c.reported_at,
        labels.c.effective_at,
        rank.label("rank"),
    ).subquery("ranked")
    columns = [column for column in ranked.c if column.name != "rank"]
    return sa.select(*columns).where(ranked.c.rank == 1).subquery("effective")


def labels_for_features(
    conn: Connection, after: LabelCursor | None, until: datetime, limit: int = 10_000
) -> tuple[pd.DataFrame, LabelCursor | None]:
    """Labels the features have not learnt, effective up to ``until``, and the next cursor.

    Read in ``(effective_at, id)`` order, so a replay from an empty cursor meets them at the
    same stream times as the live run did. Only each transaction's first label is returned
    (merchant risk cannot unlearn a label; a later report for the same transaction would be
    counted twice). Frame columns: ``label_id``, ``trans_num``, ``merchant``,
    ``event_time``, ``is_fraud``, ``source``, ``effective_at``.
    """
    labels, decisions = tables.labels, tables.decisions
    earlier = labels.alias("earlier")
    first_for_transaction = ~sa.exists().where(
        earlier.c.trans_num == labels.c.trans_num,
        sa.tuple_(earlier.c.effective_at, earlier.c.id)
        < sa.tuple_(labels.c.effective_at, labels.c.id),
    )
    query = (
        sa.select(
            labels.c.id.label("label_id"),
            labels.c.trans_num,
            decisions.c.merchant,
            decisions.c.event_time,
            labels.c.is_fraud,
            labels.c.source,
            labels.c.effective_at,
        )
        .join(decisions, decisions.c.trans_num == labels.c.trans_num)
        .where(labels.c.effective_at <= naive_utc(until), first_for_transaction)
        .order_by(labels.c.effective_at, labels.c.id)
        .limit(limit)
    )
    if after is not None:
        position = sa.tuple_(labels.c.effective_at, labels.c.id)
        query = query.where(
            position > sa.tuple_(sa.literal(after.effective_at, sa.DateTime()), after.label_id)
        )
    frame = pd.DataFrame(
        conn.execute(query).mappings().all(), columns=list(query.selected_columns.keys())
    )
    if frame.empty:
        return frame, after
    last = frame.iloc[-1]
    return frame, LabelCursor(
        pd.Timestamp(last["effective_at"]).to_pydatetime(), int(last["label_id"])
    )


def monitoring_window(conn: Connection, start: datetime, end: datetime) -> pd.DataFrame:
    """Decisions with event time in ``[start, end)`` and their effective label (NaN: none).

    Columns ``event_ms`` (epoch milliseconds), ``decision``, ``label``: the input of
    :func:`fraudwatch.monitoring.live_figures`.
    """
    decisions, effective = tables.decisions, effective_labels()
    query = (
        sa.select(decisions.c.event_time, decisions.c.decision, effective.c.is_fraud)
        .outerjoin(effective, effective.c.trans_num == decisions.c.trans_num)
        .where(decisions.c.event_time >= naive_utc(start), decisions.c.event_time < naive_utc(end))
    )
    rows = conn.execute(query).all()
    times = pd.to_datetime([row[0] for row in rows]).as_unit("ms")
    return pd.DataFrame(
        {
            "event_ms": times.asi8,
            "decision": [int(row[1]) for row in rows],
            "label": pd.array([row[2] for row in rows], dtype="Float64").to_numpy(
                dtype="float64", na_value=float("nan")
            ),
        }
    )


def live_window_figures(
    conn: Connection,
    window: timedelta,
    *,
    label_delay_ms: int,
    validation_flag_rate: float,
    clock: datetime | None = None,
) -> LiveFigures | None:
    """:func:`~fraudwatch.monitoring.live_figures` of the last ``window`` of stream time.

    ``clock``: the end of the window (default the stream clock); None when nothing is stored.
    """
    end = clock if clock is not None else stream_clock(conn)
    if end is None:
        return None
    end = naive_utc(end)
    frame = monitoring_window(conn, end - window, end + timedelta(microseconds=1))
    return live_figures(
        frame["event_ms"].to_numpy(),
        frame["decision"].to_numpy(),
        frame["label"].to_numpy(),
        clock_ms=int(np.datetime64(end, "ms").astype(np.int64)),
        label_delay_ms=label_delay_ms,
        validation_flag_rate=validation_flag_rate,
    )


def restamp(conn: Connection, label_ids: list[int], effective_at: datetime) -> None:
    """Record that these labels took effect at ``effective_at`` (later than first stamped)."""
    labels = tables.labels
    conn.execute(
        labels.update()
        .where(labels.c.id.in_(label_ids), labels.c.effective_at < naive_utc(effective_at))
        .values(effective_at=naive_utc(effective_at))
    )


def newest_label_id(conn: Connection) -> int:
    """The highest label id (0 for none): a new label raises it (a primary-key lookup)."""
    return int(conn.execute(sa.select(sa.func.max(tables.labels.c.id))).scalar() or 0)


def next_effective_at(conn: Connection, after: datetime) -> datetime | None:
    """The earliest ``effective_at`` later than ``after`` (labels still waiting for the stream)."""
    labels = tables.labels
    query = sa.select(sa.func.min(labels.c.effective_at)).where(
        labels.c.effective_at > naive_utc(after)
    )
    value = conn.execute(query).scalar()
    return None if value is None else pd.Timestamp(value).to_pydatetime()
