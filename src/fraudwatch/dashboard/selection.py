"""The filters in SQL: the WHERE terms every dashboard query shares, and the effective labels.

Every query selects from ``decisions LEFT JOIN effective label`` (per transaction its newest
chargeback, else its newest analyst verdict: :func:`fraudwatch.sinks.labels.effective_labels`)
with :func:`conditions` as its WHERE clause, so one :class:`Filters`
value means the same rows on every page, in the export and in the benchmark. All values
travel as bound parameters; the merchant search escapes ``%`` and ``_``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from fraudwatch.dashboard.filters import Filters
from fraudwatch.sinks import tables
from fraudwatch.sinks.labels import effective_labels

decisions = tables.decisions
labels = tables.labels


def effective_label() -> sa.Subquery:
    """Each labelled transaction's label that counts: its newest chargeback, else its newest
    analyst verdict (columns ``trans_num``, ``is_fraud``, ``source``, ``reported_at``, …)."""
    return effective_labels()


def report_column(label: sa.Subquery, column: str) -> sa.ScalarSelect[Any]:
    """A column of the effective label's own report (``analyst``: who reported it, ``note``),
    for the rows of a query that joins ``label``: the newest report of the effective source
    (the order :func:`~fraudwatch.sinks.labels.effective_labels` ranks reports in)."""
    return (
        sa.select(labels.c[column])
        .where(labels.c.trans_num == label.c.trans_num, labels.c.source == label.c.source)
        .order_by(labels.c.reported_at.desc(), labels.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def conditions(
    filters: Filters, label: sa.Subquery, table: sa.FromClause = decisions
) -> list[ColumnElement[bool]]:
    """The WHERE terms of ``filters`` over ``table`` (decisions or a sample of it) LEFT JOIN
    ``label`` (:func:`effective_label`)."""
    d = table.c
    terms: list[ColumnElement[bool]] = []
    if filters.start is not None:
        terms.append(d.event_time >= filters.start)
    if filters.end is not None:
        terms.append(d.event_time < filters.end)
    if filters.categories:
        terms.append(d.category.in_(filters.categories))
    if filters.states:
        terms.append(d.state.in_(filters.states))
    if filters.merchant.strip():
        terms.append(d.merchant.icontains(filters.merchant.strip(), autoescape=True))
    if filters.amount_min is not None:
        terms.append(d.amount >= filters.amount_min)
    if filters.amount_max is not None:
        terms.append(d.amount <= filters.amount_max)
    if filters.probability_min > 0.0:
        terms.append(d.fraud_probability >= filters.probability_min)
    if filters.probability_max < 1.0:
        terms.append(d.fraud_probability <= filters.probability_max)
    if filters.decision != "all":
        terms.append(d.decision == (1 if filters.decision == "flagged" else 0))
    if filters.risk_levels:
        terms.append(d.risk_level.in_(filters.risk_levels))
    verdict = label.c.is_fraud
    if filters.label == "unlabelled":
        terms.append(verdict.is_(None))
    elif filters.label == "labelled":
        terms.append(verdict.is_not(None))
    elif filters.label in ("fraud", "false_positive"):
        terms.append(verdict == (1 if filters.label == "fraud" else 0))
    return terms


def filtered_from(
    filters: Filters, table: sa.FromClause = decisions, *, with_labels: bool = False
) -> tuple[sa.FromClause, sa.Subquery, list[ColumnElement[bool]]]:
    """``table LEFT JOIN effective label``, the label subquery, and the filters' WHERE terms.

    The join is left out when neither the caller (``with_labels``) nor the label filter
    needs it: on millions of rows it costs a hash join per query. Without it, the label
    subquery's columns must not be selected.
    """
    label = effective_label()
    if not with_labels and filters.label == "all":
        return table, label, conditions(filters, label, table)
    joined = table.outerjoin(label, label.c.trans_num == table.c.trans_num)
    return joined, label, conditions(filters, label, table)
