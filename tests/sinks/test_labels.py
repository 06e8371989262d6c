"""Labels by source in the store: idempotent, pending until their transaction, effective label."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command

from fraudwatch.migrations import alembic_config
from fraudwatch.sinks import Store, tables
from fraudwatch.sinks.labels import effective_labels
from fraudwatch.sources.labels import LabelReport
from tests.sinks.factories import synthetic_decisions

REPORTED = datetime(2020, 6, 25, 9, 0, tzinfo=UTC)
#: The newest event time of synthetic_decisions(10): 2020-06-21 00:00:09.
CLOCK_10 = datetime(2020, 6, 21, 0, 0, 9)


def report(trans_num: str, label: int, source: str = "chargeback", **extra: object) -> LabelReport:
    fields = {"trans_num": trans_num, "label": label, "reported_at": REPORTED, "source": source}
    return LabelReport.model_validate(fields | extra)


def _labels(store: Store) -> list[tuple[object, ...]]:
    table = tables.labels
    query = sa.select(
        table.c.trans_num, table.c.source, table.c.is_fraud, table.c.analyst, table.c.effective_at
    ).order_by(table.c.id)
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def _effective(store: Store) -> dict[str, tuple[int, str]]:
    effective = effective_labels()
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(effective.c.trans_num, effective.c.is_fraud, effective.c.source)
        )
        return {row.trans_num: (row.is_fraud, row.source) for row in rows}


def test_same_report_twice_is_stored_once(store: Store) -> None:
    store.write_batch(synthetic_decisions(10))
    first = store.add_labels([report("tx00000001", 1), report("tx00000001", 1)])
    again = store.add_labels([report("tx00000001", 1)])
    assert (first.received, first.applied, first.pending, first.duplicates) == (2, 1, 0, 1)
    assert (again.applied, again.pending, again.duplicates) == (0, 0, 1)
    assert _labels(store) == [("tx00000001", "chargeback", 1, "issuer", CLOCK_10)]


def test_analyst_and_chargeback_disagree_both_kept_chargeback_wins(store: Store) -> None:
    store.write_batch(synthetic_decisions(10))
    store.add_label("tx00000002", False, "ana")  # an analyst says legitimate ...
    store.add_labels([report("tx00000002", 1)])  # ... the issuer charges it back
    store.add_label("tx00000002", False, "bob")  # a newer verdict does not override it
    store.add_label("tx00000003", True, "ana")
    store.add_label("tx00000003", False, "bob")  # no chargeback: the newest verdict counts
    assert [(row[0], row[1], row[2]) for row in _labels(store)] == [
        ("tx00000002", "analyst", 0),
        ("tx00000002", "chargeback", 1),
        ("tx00000002", "analyst", 0),
        ("tx00000003", "analyst", 1),
        ("tx00000003", "analyst", 0),
    ]
    assert _effective(store) == {"tx00000002": (1, "chargeback"), "tx00000003": (0, "analyst")}


def test_unknown_transaction_waits_and_applies_at_the_clock_when_it_arrives(store: Store) -> None:
    store.write_batch(synthetic_decisions(10))
    outcome = store.add_labels([report("tx00000020", 1), report("tx00000005", 0, "analyst")])
    assert (outcome.applied, outcome.pending) == (1, 1)
    assert store.count("pending_labels") == 1
    assert store.apply_pending_labels() == 0  # its transaction is still not stored
    assert store.add_labels([report("tx00000020", 1)]).duplicates == 1  # pending counts
    store.write_batch(synthetic_decisions(20, start=10))  # tx00000010 .. tx00000029
    assert store.apply_pending_labels() == 1
    assert store.count("pending_labels") == 0
    newest = datetime(2020, 6, 21, 0, 0, 29)
    assert _labels(store)[-1] == ("tx00000020", "chargeback", 1, "issuer", newest)
    assert store.apply_pending_labels() == 0
    assert store.add_labels([report("tx00000020", 1)]).duplicates == 1  # applied counts too


def test_effective_at_can_be_given_and_feeds_features_once_per_transaction(store: Store) -> None:
    store.write_batch(synthetic_decisions(10))
    early, late = datetime(2020, 6, 21, 0, 0, 5), datetime(2020, 6, 22)
    store.add_labels([report("tx00000001", 1)], effective_at=early)
    store.add_labels([report("tx00000004", 0, "analyst")], effective_at=late)
    store.add_labels([report("tx00000001", 1, "analyst")], effective_at=late)  # 2nd for tx1
    frame, cursor = store.labels_for_features(None, until=early)
    assert frame["trans_num"].tolist() == ["tx00000001"]
    assert frame["merchant"].tolist() == ["fraud_Merchant 1"]
    assert cursor is not None and cursor.effective_at == early
    assert store.labels_for_features(cursor, until=early)[0].empty
    frame, cursor = store.labels_for_features(cursor, until=late)
    assert frame["trans_num"].tolist() == ["tx00000004"]  # tx1's second label is not fed
    assert pd.Timestamp(frame["effective_at"].iloc[0]) == pd.Timestamp(late)


def test_live_figures_over_the_stored_window(store: Store) -> None:
    decisions = synthetic_decisions(10, fraud_share=0.0)
    decisions["decision"] = [1, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    store.write_batch(decisions)
    store.add_labels([report("tx00000000", 1), report("tx00000002", 1)])
    store.add_label("tx00000001", False, "ana")
    figures = store.live_figures(timedelta(hours=1), label_delay_ms=5_000, validation_flag_rate=0.2)
    assert figures is not None
    # rows 0..4 are at least 5 s older than the clock (row 9): unlabelled ones are legitimate
    # known: 0 (fraud, flagged), 1 (legit, flagged), 2 (fraud), 3, 4 (legit); 8 flagged, unknown
    assert (figures.transactions, figures.flagged, figures.labelled) == (10, 3, 5)
    assert (figures.true_positives, figures.frauds) == (1, 2)
    assert figures.precision == pytest.approx(0.5)
    assert figures.recall == pytest.approx(0.5)
    assert figures.flag_rate == pytest.approx(0.3)


def test_upgrade_keeps_old_verdicts_as_analyst_labels(blank_store: Store) -> None:
    with blank_store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0002")
    blank_store.write_batch(synthetic_decisions(10))
    with blank_store.engine.begin() as conn:
        for analyst, verdict in (("ana", 1), ("ana", 1), ("bob", 0)):  # ana double-clicked
            conn.execute(
                sa.text(
                    "INSERT INTO labels (trans_num, is_fraud, analyst, created_at) "
                    "VALUES ('tx00000003', :verdict, :analyst, '2026-01-02 03:04:05')"
                ),
                {"verdict": verdict, "analyst": analyst},
            )
    blank_store.upgrade()
    assert [(row[1], row[2], row[3], row[4]) for row in _labels(blank_store)] == [
        ("analyst", 1, "ana", CLOCK_10),
        ("analyst", 0, "bob", CLOCK_10),
    ]
    with blank_store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0002")
    assert blank_store.count("labels") == 2
