"""Rows to look at: paged and sorted transaction and alert tables, and one transaction in full.

Paging happens in the database (``ORDER BY … LIMIT … OFFSET …``, with a stable tie-break
on ``trans_num``); sorting is limited to a fixed set of columns, so a sort key from the page
can never become SQL. The drill-down reads one row by its key and the card's recent history
through the ``card_token`` index. Reasons are stored as a JSON list of sentences already in
words (``fraudwatch.features.definitions.Feature.reason``), so they are shown as stored.
The label shown is each transaction's effective one (a chargeback beats an analyst's
verdict), with its source.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from fraudwatch.dashboard.filters import Filters
from fraudwatch.dashboard.selection import (
    decisions,
    effective_label,
    filtered_from,
    labels,
    report_column,
)
from fraudwatch.dashboard.source import Reader
from fraudwatch.sinks import tables

#: Columns a table can be sorted by (name shown → column).
SORTABLE: dict[str, sa.Column[Any]] = {
    "time": decisions.c.event_time,
    "probability": decisions.c.fraud_probability,
    "amount": decisions.c.amount,
    "merchant": decisions.c.merchant,
    "category": decisions.c.category,
    "state": decisions.c.state,
    "latency": decisions.c.latency_ms,
}
#: Columns of the transaction and alert tables, in order.
TABLE_COLUMNS = (
    "event_time", "trans_num", "masked_pan", "merchant", "category", "state", "amount",
    "fraud_probability", "risk_level", "decision", "label", "label_source", "latency_ms",
)  # fmt: skip
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class Page:
    """One page of a table: its rows, how many rows match in all, and where the page is."""

    rows: pd.DataFrame
    total: int
    page: int  # 1-based
    page_size: int

    @property
    def pages(self) -> int:
        """How many pages the matching rows fill (at least 1)."""
        return max(1, -(-self.total // self.page_size))


def label_text(is_fraud: Any) -> str:
    """A stored verdict in words ('' when there is none)."""
    if is_fraud is None or (isinstance(is_fraud, float) and is_fraud != is_fraud):
        return ""
    return "confirmed fraud" if int(is_fraud) == 1 else "false positive"


def label_with_source(is_fraud: Any, source: Any) -> str:
    """The effective label and where it comes from, for the tables: 'fraud · chargeback',
    'legit · analyst' ('' when there is none)."""
    if not label_text(is_fraud):
        return ""
    return f"{'fraud' if int(is_fraud) == 1 else 'legit'} · {source}"


def _label_cells(frame: pd.DataFrame) -> list[str]:
    return [
        label_with_source(is_fraud, source)
        for is_fraud, source in zip(frame["label"], frame["label_source"], strict=True)
    ]


def transactions_page(
    reader: Reader,
    filters: Filters,
    *,
    page: int = 1,
    page_size: int = 50,
    sort: str = "time",
    descending: bool = True,
    alerts_only: bool = False,
) -> Page:
    """One page of the filtered transactions (``alerts_only``: flagged ones, with alert data)."""
    if sort not in SORTABLE:
        raise ValueError(f"cannot sort by {sort!r}; choose one of {', '.join(SORTABLE)}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must lie in 1..{MAX_PAGE_SIZE}")
    page = max(1, page)
    joined, label, where = filtered_from(filters, with_labels=True)
    if alerts_only:
        where = [*where, decisions.c.decision == 1]
    counted, _label, count_where = filtered_from(filters)  # no label join unless filtered
    if alerts_only:
        count_where = [*count_where, decisions.c.decision == 1]
    d = decisions.c
    alert = tables.alerts.c
    key = SORTABLE[sort]
    ordered = key.desc() if descending else key.asc()
    # NULLS LAST only where NULLs can occur: on a NOT NULL column it would stop Postgres from
    # reading the index backwards (a 2 s sort of 5 M rows instead of a 50-row index scan).
    order = [ordered.nulls_last() if key.nullable else ordered, d.trans_num]
    columns: list[Any] = [
        d.event_time, d.trans_num, d.masked_pan, d.merchant, d.category, d.state, d.amount,
        d.fraud_probability, d.risk_level, d.decision, label.c.is_fraud.label("label"),
        label.c.source.label("label_source"), d.latency_ms,
    ]  # fmt: skip
    source: sa.FromClause = joined
    if alerts_only:
        source = joined.outerjoin(tables.alerts, alert.trans_num == d.trans_num)
        columns += [
            alert.created_at.label("alerted_at"),
            report_column(label, "analyst").label("analyst"),
            report_column(label, "note").label("note"),
        ]
    rows_statement = (
        sa.select(*columns).select_from(source).where(*where).order_by(*order).limit(page_size)
    )
    count_statement = sa.select(sa.func.count()).select_from(counted).where(*count_where)

    def run(conn: Connection) -> Page:
        total = int(conn.execute(count_statement).scalar_one())
        last_page = max(1, -(-total // page_size))
        wanted = min(page, last_page)
        statement = rows_statement.offset((wanted - 1) * page_size)
        result = conn.execute(statement)
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        return Page(rows=frame, total=total, page=wanted, page_size=page_size)

    result = reader.run(run, "alerts page" if alerts_only else "transactions page")
    frame = result.rows
    frame["label"] = _label_cells(frame)
    if len(frame):
        frame["event_time"] = pd.to_datetime(frame["event_time"])
    return result


@dataclass(frozen=True)
class Verdict:
    """One label report of a transaction: a chargeback or an analyst's verdict."""

    is_fraud: bool
    source: str  # chargeback | analyst
    analyst: str  # who reported it (the issuer, an analyst)
    note: str | None
    reported_at: datetime


@dataclass(frozen=True)
class TransactionDetail:
    """Everything the drill-down shows about one transaction."""

    trans_num: str
    card_token: str
    masked_pan: str
    event_time: datetime
    amount: float
    merchant: str
    category: str
    state: str | None
    fraud_probability: float
    risk_level: str
    decision: int
    threshold: float
    model_version: str
    reasons: list[str]
    latency_ms: float
    source: str
    verdicts: list[Verdict]  # every report, the one that counts first, then newest first

    @property
    def verdict(self) -> Verdict | None:
        """The label that counts: the newest chargeback, else the newest analyst verdict."""
        return self.verdicts[0] if self.verdicts else None


def parse_reasons(stored: str | None) -> list[str]:
    """The stored reasons (a JSON list of sentences) as a list; tolerant of older text forms."""
    if not stored:
        return []
    try:
        value = json.loads(stored)
    except json.JSONDecodeError:
        return [part for part in stored.split("; ") if part]
    if isinstance(value, list):
        return [str(item) for item in value if str(item)]
    return [str(value)]


def transaction_detail(reader: Reader, trans_num: str) -> TransactionDetail | None:
    """One transaction with its reasons and every label it received (None if unknown)."""
    d = decisions.c
    row_statement = sa.select(*(c for c in decisions.c if c.name != "inserted_at")).where(
        d.trans_num == trans_num
    )
    label = effective_label()
    effective_source = (
        sa.select(label.c.source).where(label.c.trans_num == trans_num).scalar_subquery()
    )
    label_statement = (
        sa.select(
            labels.c.is_fraud, labels.c.source, labels.c.analyst, labels.c.note,
            labels.c.reported_at,
        )
        .where(labels.c.trans_num == trans_num)
        .order_by(
            # the effective report first: the newest of the effective label's source
            sa.case((labels.c.source == effective_source, 0), else_=1),
            labels.c.reported_at.desc(),
            labels.c.id.desc(),
        )
    )  # fmt: skip

    def run(conn: Connection) -> TransactionDetail | None:
        row = conn.execute(row_statement).mappings().one_or_none()
        if row is None:
            return None
        verdicts = [
            Verdict(bool(v.is_fraud), str(v.source), str(v.analyst), v.note, v.reported_at)
            for v in conn.execute(label_statement)
        ]
        values = dict(row)
        values["reasons"] = parse_reasons(values["reasons"])
        return TransactionDetail(**values, verdicts=verdicts)

    return reader.run(run, "transaction detail")


def card_history(
    reader: Reader, card_token: str, *, before: datetime | None = None, limit: int = 20
) -> pd.DataFrame:
    """The card's most recent transactions (up to ``before`` when given), newest first."""
    d = decisions.c
    label = effective_label()
    columns = [
        d.event_time, d.trans_num, d.merchant, d.category, d.amount, d.fraud_probability,
        d.risk_level, d.decision, label.c.is_fraud.label("label"),
        label.c.source.label("label_source"),
    ]  # fmt: skip
    statement = (
        sa.select(*columns)
        .select_from(decisions.outerjoin(label, label.c.trans_num == d.trans_num))
        .where(d.card_token == card_token)
        .order_by(d.event_time.desc(), d.trans_num)
        .limit(limit)
    )
    if before is not None:
        statement = statement.where(d.event_time <= before)

    def run(conn: Connection) -> pd.DataFrame:
        result = conn.execute(statement)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    frame = reader.run(run, "card history")
    frame["label"] = _label_cells(frame)
    return frame
