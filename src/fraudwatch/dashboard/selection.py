"""The filters in SQL: the WHERE terms every dashboard query shares, and the newest labels.

Every query selects from ``decisions LEFT JOIN latest_label`` (the newest analyst verdict
per transaction) with :func:`conditions` as its WHERE clause, so one :class:`Filters`
value means the same rows on every page, in the export and in the benchmark. All values
travel as bound parameters; the merchant search escapes ``%`` and ``_``.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from fraudwatch.dashboard.filters import Filters
from fraudwatch.sinks import tables

decisions = tables.decisions
labels = tables.labels


def latest_labels() -> sa.Subquery:
    """Each labelled transaction's newest verdict (labels are appended; the newest wins)."""
    newest = (
        sa.select(labels.c.trans_num, sa.func.max(labels.c.id).label("label_id"))
        .group_by(labels.c.trans_num)
        .subquery("newest_label_ids")
    )
    return (
        sa.select(
            labels.c.trans_num,
            labels.c.is_fraud,
            labels.c.analyst,
            labels.c.note,
            labels.c.created_at.label("labelled_at"),
        )
        .join(newest, labels.c.id == newest.c.label_id)
        .subquery("latest_label")
    )


def conditions(
    filters: Filters, label: sa.Subquery, table: sa.FromClause = decisions
) -> list[ColumnElement[bool]]:
    """The WHERE terms of ``filters`` over ``table`` (decisions or a sample of it) LEFT JOIN
    ``label`` (:func:`latest_labels`)."""
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
    """``table LEFT JOIN latest label``, the label subquery, and the filters' WHERE terms.

    The join is left out when neither the caller (``with_labels``) nor the label filter
    needs it: on millions of rows it costs a hash join per query. Without it, the label
    subquery's columns must not be selected.
    """
    label = latest_labels()
    if not with_labels and filters.label == "all":
        return table, label, conditions(filters, label, table)
    joined = table.outerjoin(label, label.c.trans_num == table.c.trans_num)
    return joined, label, conditions(filters, label, table)
