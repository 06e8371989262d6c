"""The overview's numbers, aggregated in the database: KPIs, trends, category and state views.

Every function takes a :class:`~fraudwatch.dashboard.source.Reader` and the current
:class:`~fraudwatch.dashboard.filters.Filters` and sends parameterised SQLAlchemy Core
statements whose aggregation runs in the database: only the result crosses the wire, never
the decisions themselves, so the pages stay fast with millions of stored decisions.

The overview page scans the selection once: one aggregate grouped by category and state
(and by time bucket, when there are at most :data:`COMBINED_BUCKETS` of them) gives the
KPI totals, the category view, the state view and the trend; the analyst-label counts come
from a second query that starts from the (few) labels and looks their decisions up by key.
On PostgreSQL that aggregate reads only the covering event-time index (an index-only scan
of narrow index tuples, see :func:`prefer_index_only_scans`), not the wide rows.
Percentiles (latency p50/p99, probability p95 per bucket) come from
:mod:`fraudwatch.dashboard.percentiles`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from fraudwatch.dashboard import formats, percentiles
from fraudwatch.dashboard.buckets import Bucket, bucket_count, choose_bucket, slot_of
from fraudwatch.dashboard.filters import Filters
from fraudwatch.dashboard.selection import conditions, decisions, effective_label, filtered_from
from fraudwatch.dashboard.source import Reader
from fraudwatch.sinks import tables

#: Up to this many time buckets, the trend comes out of the KPI query itself.
COMBINED_BUCKETS = 100
#: ``random_page_cost`` of the summary's transaction on PostgreSQL (see
#: :func:`prefer_index_only_scans`).
INDEX_PAGE_COST = 1.1
TREND_COLUMNS: tuple[str, ...] = ("bucket_start", "transactions", "flagged", "flagged_amount")
TREND_COLUMNS += ("mean_probability", "p95_probability", "flag_rate")
_SUMS: tuple[str, ...] = ("scored", "flagged", "amount_at_risk", "probability_sum")
_LABEL_SUMS: tuple[str, ...] = ("confirmed", "conf_amount", "false_pos")
_LABEL_SUMS += ("labelled_alerts", "confirmed_alerts")


@dataclass(frozen=True)
class Overview:
    """The KPI cards of the overview, for the rows the filters select."""

    scored: int
    flagged: int
    amount_at_risk: float  # sum of flagged amounts
    confirmed_fraud: int  # transactions whose effective label says fraud
    confirmed_amount: float
    false_positives: int  # transactions whose effective label says legitimate
    labelled_alerts: int  # flagged transactions with a label
    confirmed_alerts: int  # flagged transactions labelled fraud
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    first_event: datetime | None
    last_event: datetime | None
    last_write: datetime | None  # when the newest selected row was written (UTC)
    sample_percent: float | None = None  # latency percentiles from a sample (None: exact)

    @property
    def flag_rate(self) -> float | None:
        """Share of scored transactions that were flagged."""
        return self.flagged / self.scored if self.scored else None

    @property
    def alert_precision(self) -> float | None:
        """Share of labelled alerts that analysts confirmed as fraud (None before any label)."""
        return self.confirmed_alerts / self.labelled_alerts if self.labelled_alerts else None


def _flagged_sum(value: ColumnElement[Any]) -> ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((decisions.c.decision == 1, value))), 0)


def prefer_index_only_scans(conn: Connection, backend: str) -> None:
    """On PostgreSQL, cost random page reads as on SSD or cache for the rest of this transaction.

    The summary's columns are all in the covering ``ix_decisions_event_time`` (``INCLUDE``,
    see :data:`fraudwatch.sinks.tables.EVENT_TIME_INCLUDED`), whose index-only scan reads
    about a third of the pages of a scan of the wide rows. With the default
    ``random_page_cost`` of 4 (spinning disks) the planner still prefers the sequential
    scan over the whole table; 1.1, the usual value for SSD-backed servers (and for data in
    memory), lets it take the index. ``SET LOCAL`` ends with the query's transaction.
    """
    if backend == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL random_page_cost = {INDEX_PAGE_COST}")


def _summary(
    conn: Connection, backend: str, filters: Filters, bucket: Bucket | None
) -> pd.DataFrame:
    """Sums per category, state (and time bucket): one hash aggregate over the selection."""
    prefer_index_only_scans(conn, backend)
    joined, _label, where = filtered_from(filters)  # joins labels only for a label filter
    d = decisions.c
    state = sa.func.coalesce(d.state, "unknown").label("state")
    keys: list[Any] = [d.category, state]
    if bucket is not None:
        keys.append(slot_of(backend, bucket)(decisions).label("bucket_start"))
    measures = [
        sa.func.count().label("scored"),
        sa.func.coalesce(sa.func.sum(d.decision), 0).label("flagged"),
        _flagged_sum(d.amount).label("amount_at_risk"),
        sa.func.sum(d.fraud_probability).label("probability_sum"),
        sa.func.min(d.event_time).label("first_event"),
        sa.func.max(d.event_time).label("last_event"),
        sa.func.max(d.inserted_at).label("last_write"),
    ]
    statement = sa.select(*keys, *measures).select_from(joined).where(*where).group_by(*keys)
    result = conn.execute(statement)
    frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    return frame.astype({name: "float64" for name in _SUMS})


def _label_totals(conn: Connection, filters: Filters) -> dict[str, float]:
    """Counts of the selection's effective labels, from the labels side (an index look-up
    each)."""
    label = effective_label()
    d = decisions.c
    is_fraud = label.c.is_fraud
    source = label.join(decisions, d.trans_num == label.c.trans_num)
    statement = sa.select(
        sa.func.coalesce(sa.func.sum(sa.case((is_fraud == 1, 1), else_=0)), 0).label("confirmed"),
        sa.func.coalesce(sa.func.sum(sa.case((is_fraud == 1, d.amount))), 0).label("conf_amount"),
        sa.func.coalesce(sa.func.sum(sa.case((is_fraud == 0, 1), else_=0)), 0).label("false_pos"),
        _flagged_sum(sa.literal(1)).label("labelled_alerts"),
        _flagged_sum(sa.case((is_fraud == 1, 1), else_=0)).label("confirmed_alerts"),
    ).select_from(source)
    row = conn.execute(statement.where(*conditions(filters, label))).mappings().one()
    return {name: float(row[name]) for name in _LABEL_SUMS}


def _overview_of(
    conn: Connection, backend: str, filters: Filters, summary: pd.DataFrame
) -> Overview:
    totals = summary[list(_SUMS)].sum()
    scored = int(totals["scored"])
    labelled = _label_totals(conn, filters)
    (p50, p99), sampled = percentiles.quantiles(
        conn, backend, filters, "latency_ms", (0.5, 0.99), scored
    )
    return Overview(
        scored=scored,
        flagged=int(totals["flagged"]),
        amount_at_risk=float(totals["amount_at_risk"]),
        confirmed_fraud=int(labelled["confirmed"]),
        confirmed_amount=float(labelled["conf_amount"]),
        false_positives=int(labelled["false_pos"]),
        labelled_alerts=int(labelled["labelled_alerts"]),
        confirmed_alerts=int(labelled["confirmed_alerts"]),
        latency_p50_ms=p50,
        latency_p99_ms=p99,
        first_event=_moment(summary["first_event"].min()),
        last_event=_moment(summary["last_event"].max()),
        last_write=_moment(summary["last_write"].max()),
        sample_percent=sampled,
    )


def _moment(value: Any) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).to_pydatetime()


def _categories_of(summary: pd.DataFrame) -> pd.DataFrame:
    grouped = summary.groupby("category", as_index=False)[["scored", "flagged", "amount_at_risk"]]
    frame = grouped.sum().rename(
        columns={"scored": "transactions", "amount_at_risk": "flagged_amount"}
    )
    frame = frame.astype({"transactions": "int64", "flagged": "int64", "flagged_amount": "float64"})
    frame["flag_rate"] = frame["flagged"] / frame["transactions"].where(frame["transactions"] > 0)
    return frame.sort_values(["flag_rate", "category"], ascending=[False, True], ignore_index=True)


def _states_of(summary: pd.DataFrame, limit: int) -> pd.DataFrame:
    grouped = summary.groupby("state", as_index=False)[["flagged", "amount_at_risk"]].sum()
    frame = grouped.rename(columns={"amount_at_risk": "flagged_amount"})
    frame = frame[frame["flagged"] > 0].astype({"flagged": "int64", "flagged_amount": "float64"})
    frame = frame.sort_values(["flagged_amount", "state"], ascending=[False, True])
    return frame.head(limit).reset_index(drop=True)


def _trend_of(
    conn: Connection, backend: str, filters: Filters, summary: pd.DataFrame, bucket: Bucket
) -> pd.DataFrame:
    """Per bucket sums from a bucketed summary, with the p95 probability of each bucket."""
    if summary.empty:
        return empty_trend(bucket)
    sums = summary.groupby("bucket_start", as_index=False)[list(_SUMS)].sum()
    p95, sampled = percentiles.bucket_p95(
        conn, backend, filters, slot_of(backend, bucket), int(sums["scored"].sum())
    )
    frame = sums.merge(p95, on="bucket_start", how="left")
    frame["bucket_start"] = pd.to_datetime(frame["bucket_start"]).dt.tz_localize(None)
    frame = frame.rename(columns={"scored": "transactions", "amount_at_risk": "flagged_amount"})
    frame["mean_probability"] = frame["probability_sum"] / frame["transactions"]
    frame["flag_rate"] = frame["flagged"] / frame["transactions"]
    frame = frame.sort_values("bucket_start", ignore_index=True).loc[:, list(TREND_COLUMNS)]
    frame = frame.astype({"transactions": "int64", "flagged": "int64"})
    frame.attrs.update(bucket=bucket, sample_percent=sampled)
    return frame


def empty_trend(bucket: Bucket = "day") -> pd.DataFrame:
    """A trend frame with no bucket."""
    frame = pd.DataFrame(columns=list(TREND_COLUMNS))
    frame.attrs.update(bucket=bucket, sample_percent=None)
    return frame


def resolve_bucket(reader: Reader, filters: Filters) -> tuple[Bucket, int]:
    """The trend's bucket width for the filters' time range (or the data's), and its count."""
    start, end = filters.start, filters.end
    if start is None or end is None:
        first, last = time_bounds(reader)
        start, end = start or first, end or last
    bucket = choose_bucket(start, end)
    return bucket, bucket_count(start, end, bucket)


def overview(reader: Reader, filters: Filters) -> Overview:
    """The overview KPIs: one aggregate, the label counts, and the latency percentiles."""

    def run(conn: Connection) -> Overview:
        return _overview_of(
            conn, reader.backend, filters, _summary(conn, reader.backend, filters, None)
        )

    return reader.run(run, "overview KPIs")


def trend(reader: Reader, filters: Filters, bucket: Bucket | None = None) -> pd.DataFrame:
    """Per time bucket: transactions, flagged, flagged amount, mean and p95 probability.

    The bucket defaults to :func:`resolve_bucket`; the frame's ``attrs`` name the bucket and
    the sample percentage of the p95 (None: exact).
    """
    chosen = bucket or resolve_bucket(reader, filters)[0]

    def run(conn: Connection) -> pd.DataFrame:
        summary = _summary(conn, reader.backend, filters, chosen)
        return _trend_of(conn, reader.backend, filters, summary, chosen)

    return reader.run(run, "trend")


def by_category(reader: Reader, filters: Filters) -> pd.DataFrame:
    """Per category: transactions, flagged, flag rate, flagged amount (highest rate first)."""
    summary = reader.run(
        lambda conn: _summary(conn, reader.backend, filters, None), "flag rate by category"
    )
    return _categories_of(summary)


def by_state(reader: Reader, filters: Filters, limit: int = 25) -> pd.DataFrame:
    """Flagged count and amount per state (largest amount first; at most ``limit`` states)."""
    summary = reader.run(
        lambda conn: _summary(conn, reader.backend, filters, None), "flagged amount by state"
    )
    return _states_of(summary, limit)


@dataclass(frozen=True)
class OverviewData:
    """Everything the overview page draws."""

    overview: Overview
    trend: pd.DataFrame
    categories: pd.DataFrame
    states: pd.DataFrame


def overview_data(reader: Reader, filters: Filters, state_limit: int = 25) -> OverviewData:
    """The overview page's KPIs, trend, category and state views, in as few scans as possible."""
    bucket, buckets = resolve_bucket(reader, filters)
    combined = buckets <= COMBINED_BUCKETS

    def run(conn: Connection) -> OverviewData:
        summary = _summary(conn, reader.backend, filters, bucket if combined else None)
        kpis = _overview_of(conn, reader.backend, filters, summary)
        if not kpis.scored:
            series = empty_trend(bucket)
        elif combined:
            series = _trend_of(conn, reader.backend, filters, summary, bucket)
        else:
            bucketed = _summary(conn, reader.backend, filters, bucket)
            series = _trend_of(conn, reader.backend, filters, bucketed, bucket)
        return OverviewData(kpis, series, _categories_of(summary), _states_of(summary, state_limit))

    return reader.run(run, "overview")


def time_bounds(reader: Reader) -> tuple[datetime | None, datetime | None]:
    """Oldest and newest stored event time (index look-ups, not a scan)."""
    d = decisions.c
    first = sa.select(sa.func.min(d.event_time)).scalar_subquery()
    last = sa.select(sa.func.max(d.event_time)).scalar_subquery()

    def run(conn: Connection) -> tuple[datetime | None, datetime | None]:
        row = conn.execute(sa.select(first.label("first"), last.label("last"))).one()
        return row[0], row[1]

    return reader.run(run, "time bounds")


def known_states(reader: Reader) -> list[str]:
    """The states that appear in the decisions (for the state filter; a full scan)."""
    statement = (
        sa.select(decisions.c.state)
        .where(decisions.c.state.is_not(None))
        .distinct()
        .order_by(decisions.c.state)
    )
    return reader.run(lambda conn: [str(s) for s in conn.execute(statement).scalars()], "states")


def freshness(reader: Reader) -> tuple[datetime | None, datetime | None]:
    """The newest event time and when data last arrived (newest row's write or checkpoint).

    Index look-ups only: the newest event's ``inserted_at`` (a live source writes its newest
    event last) and the newest checkpoint, so the "nothing arrives" warning costs no scan.
    """
    d = decisions.c
    newest = sa.select(d.event_time, d.inserted_at).order_by(d.event_time.desc()).limit(1)
    checkpoint = sa.select(sa.func.max(tables.checkpoints.c.updated_at))

    def run(conn: Connection) -> tuple[datetime | None, datetime | None]:
        row = conn.execute(newest).one_or_none()
        moved = conn.execute(checkpoint).scalar_one_or_none()
        writes = [_as_utc(value) for value in (row[1] if row else None, moved) if value]
        return (row[0] if row else None), max(writes, default=None)

    return reader.run(run, "freshness")


@dataclass(frozen=True)
class StreamClock:
    """ "Now" as the stream sees it: the newest stored event time, else the wall clock.

    Relative time ranges ("last 15 minutes") and the partial newest chart bucket count from
    here, never from the wall clock: an accelerated simulated feed runs ahead of it, and a
    replay of 2019-2020 files runs years behind it.
    """

    now: datetime  # naive UTC, like decisions.event_time
    from_stream: bool  # False: the store is empty and ``now`` is the wall clock
    last_write: datetime | None  # when data last arrived (aware UTC; wall clock)

    def describe(self, speed: float | None = None) -> str:
        """The clock for people: 'stream clock 2026-12-05 14:02:11 UTC (newest transaction)',
        with how fast it runs when ``speed`` (stream seconds per wall second) is given."""
        when = self.now.strftime("%Y-%m-%d %H:%M:%S")
        if not self.from_stream:
            return f"wall clock {when} UTC (no transaction stored yet)"
        described = f"stream clock {when} UTC (newest transaction)"
        if speed is not None:
            described += f" — {formats.clock_speed(speed)}"
        return described


def stream_clock(reader: Reader) -> StreamClock:
    """The stream's "now" (two index look-ups, see :func:`freshness`)."""
    newest, written = freshness(reader)
    if newest is None:
        return StreamClock(datetime.now(UTC).replace(tzinfo=None), False, written)
    moment = pd.Timestamp(newest).to_pydatetime()
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return StreamClock(moment.replace(tzinfo=None), True, written)


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
