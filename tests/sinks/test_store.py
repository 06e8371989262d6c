"""Writing batches: idempotent replay, one transaction per batch, dead letters, labels, models."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from fraudwatch.schema import FieldError, Rejection
from fraudwatch.sinks import DeadLetter, Store, dead_letters
from fraudwatch.sinks import bulk as bulk_module
from fraudwatch.sinks.tables import dead_letter
from fraudwatch.sinks.tables import decisions as decisions_table
from tests.sinks.factories import synthetic_decisions


def _rows(store: Store, sql: str, **params: Any) -> list[sa.Row[Any]]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params))


def test_replaying_10000_decisions_never_duplicates_and_the_later_write_wins(
    store: Store,
) -> None:
    first = synthetic_decisions(10_000, seed=1, model_version="m1")
    for start in range(0, 10_000, 1_000):
        batch = first.iloc[start : start + 1_000]
        assert store.write_batch(batch, checkpoint=("replay", str(start))) == 1_000
    flagged = set(first.loc[first["decision"] == 1, "trans_num"])
    assert store.count("decisions") == 10_000
    assert store.count("alerts") == len(flagged) > 0

    second = first.copy()
    second["model_version"] = "m2"
    second["fraud_probability"] = 1 - first["fraud_probability"]
    second["state"] = "NY"
    for start in range(0, 10_000, 1_000):
        store.write_batch(second.iloc[start : start + 1_000], checkpoint=("replay", str(start)))

    assert store.count("decisions") == 10_000
    rows = _rows(store, "SELECT model_version, state, COUNT(*) FROM decisions GROUP BY 1, 2")
    assert [tuple(row) for row in rows] == [("m2", "NY", 10_000)]
    probe = second.iloc[4_321]
    (stored,) = _rows(
        store,
        "SELECT fraud_probability, event_time, amount, reasons FROM decisions WHERE trans_num = :t",
        t=probe["trans_num"],
    )
    assert stored.fraud_probability == pytest.approx(probe["fraud_probability"])
    assert pd.Timestamp(stored.event_time) == probe["event_time"]
    assert stored.amount == pytest.approx(probe["amount"])
    assert json.loads(stored.reasons) == json.loads(probe["reasons"])
    # alerts: only the decision == 1 rows, once each, although written twice
    alerted = {row.trans_num for row in _rows(store, "SELECT trans_num FROM alerts")}
    assert alerted == flagged
    statuses = _rows(store, "SELECT DISTINCT status FROM alerts")
    assert [row.status for row in statuses] == ["open"]
    assert store.checkpoint("replay") == "9000"


def test_a_batch_repeating_a_transaction_keeps_its_later_row(store: Store) -> None:
    batch = synthetic_decisions(3)
    repeated = pd.concat([batch, batch.iloc[[1]].assign(model_version="later")])
    assert store.write_batch(repeated) == 3
    versions = dict(_rows(store, "SELECT trans_num, model_version FROM decisions"))
    assert versions[batch["trans_num"].iloc[1]] == "later"
    assert store.count("decisions") == 3


def test_missing_values_and_object_columns_are_stored_as_null(store: Store) -> None:
    batch = synthetic_decisions(3)
    batch["state"] = pd.Series([None, "CA", np.nan], dtype=object)  # as make_decisions makes it
    batch["reasons"] = pd.Series([["high amount", "night"], None, "[]"], dtype=object)
    store.write_batch(batch)
    rows = _rows(store, "SELECT state, reasons FROM decisions ORDER BY trans_num")
    assert [row.state for row in rows] == [None, "CA", None]
    assert [json.loads(row.reasons) for row in rows] == [["high amount", "night"], [], []]
    assert batch["state"].isna().tolist() == [True, False, True]  # the caller's frame is untouched


def test_event_times_round_trip_and_compare_as_times(store: Store) -> None:
    batch = synthetic_decisions(100)  # one second apart from 2020-06-21 00:00:00
    batch.loc[7, "event_time"] = pd.Timestamp("2020-06-21 00:00:07.123456")
    store.write_batch(batch)
    cutoff = datetime(2020, 6, 21, 0, 0, 50)
    with store.engine.connect() as conn:
        later = conn.execute(
            sa.select(sa.func.count()).where(decisions_table.c.event_time >= cutoff)
        ).scalar_one()
        seventh = conn.execute(
            sa.select(decisions_table.c.event_time).where(
                decisions_table.c.trans_num == batch.loc[7, "trans_num"]
            )
        ).scalar_one()
    assert later == 50
    assert seventh == datetime(2020, 6, 21, 0, 0, 7, 123456)


def test_a_failing_dead_letter_rolls_back_the_whole_batch(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    batch = synthetic_decisions(500, fraud_share=0.2)
    broken = DeadLetter(source=None, reason="x", record={})  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):  # NOT NULL violation, after decisions were sent
        store.write_batch(batch, [broken], checkpoint=("feed", "500"))
    assert store.count("decisions") == 0
    assert store.count("alerts") == 0
    assert store.count("dead_letter") == 0
    assert store.checkpoint("feed") is None
    assert "retrying" not in caplog.text  # a constraint violation is not retried


def test_a_failing_checkpoint_rolls_back_decisions_and_dead_letters(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write_batch(synthetic_decisions(10), checkpoint=("feed", "10"))

    def crash(conn: sa.Connection, source_id: str, position: str) -> None:
        conn.execute(sa.text("SELECT 1"))
        raise RuntimeError("process died before the checkpoint")

    monkeypatch.setattr(bulk_module, "upsert_checkpoint", crash)
    letter = DeadLetter(source="feed", reason="amt: must be >= 0", record={"amt": -1})
    with pytest.raises(RuntimeError, match="process died"):
        store.write_batch(synthetic_decisions(90, start=10), [letter], checkpoint=("feed", "100"))
    monkeypatch.undo()
    assert store.count("decisions") == 10
    assert store.count("dead_letter") == 0
    assert store.checkpoint("feed") == "10"

    assert store.write_batch(synthetic_decisions(90, start=10), checkpoint=("feed", "100")) == 90
    assert store.count("decisions") == 100
    assert store.checkpoint("feed") == "100"
    assert store.checkpoint("another source") is None


def test_checkpoint_alone_and_empty_batches(store: Store) -> None:
    empty = synthetic_decisions(0)
    assert store.write_batch(empty) == 0
    assert store.write_batch(empty, checkpoint=("idle", "cursor-7")) == 0
    assert store.checkpoint("idle") == "cursor-7"
    with pytest.raises(ValueError, match="lacks columns"):
        store.write_batch(synthetic_decisions(2).drop(columns=["card_token"]))


def test_dead_letters_keep_reason_and_masked_record(store: Store) -> None:
    record = {"cc_num": "4111********1111", "amt": -3.5, "merchant": "fraud_Kirlin", "lat": None}
    rejections = [
        Rejection(position=4, record=record, errors=(FieldError("amt", "must be >= 0"),)),
        Rejection(
            position=9,
            record={"cc_num": "*", "merchant": "paid with 4539 1488 0343 6467 at the till"},
            errors=(FieldError("cc_num", "missing value"), FieldError("trans_num", "missing")),
        ),
    ]
    letters = dead_letters(rejections, source="feed")
    assert {letter.received_at for letter in letters} == {letters[0].received_at}
    store.write_batch(synthetic_decisions(0), letters)
    with store.engine.connect() as conn:  # Core, so received_at comes back as a datetime
        rows = list(conn.execute(sa.select(dead_letter).order_by(dead_letter.c.id)))
    assert [(row.source, row.reason) for row in rows] == [
        ("feed", "amt: must be >= 0"),
        ("feed", "cc_num: missing value; trans_num: missing"),
    ]
    assert json.loads(rows[0].record) == record
    assert "4539" in rows[1].record and "4539148803436467" not in rows[1].record.replace(" ", "")
    received = rows[0].received_at.replace(tzinfo=rows[0].received_at.tzinfo or UTC)
    assert abs((received - datetime.now(UTC)).total_seconds()) < 60


def test_labels_round_trip_and_several_verdicts_are_kept(store: Store) -> None:
    store.write_batch(synthetic_decisions(3))
    store.add_label("tx00000001", True, "ana", note="customer confirmed")
    store.add_label("tx00000001", False, "bob")
    store.add_label("tx00000002", False, "ana")
    rows = _rows(store, "SELECT trans_num, is_fraud, analyst, note, source FROM labels ORDER BY id")
    assert [tuple(row) for row in rows] == [
        ("tx00000001", 1, "ana", "customer confirmed", "analyst"),
        ("tx00000001", 0, "bob", None, "analyst"),
        ("tx00000002", 0, "ana", None, "analyst"),
    ]
    newest = _rows(
        store,
        "SELECT is_fraud FROM labels WHERE trans_num = 'tx00000001' "
        "ORDER BY created_at DESC, id DESC",
    )
    assert newest[0].is_fraud == 0


def test_model_versions_round_trip_with_one_champion(store: Store) -> None:
    store.record_model_version("2024-01", {"ap": 0.91, "features": ["a", "b"]}, champion=True)
    store.record_model_version("2024-02", {"ap": 0.95}, champion=True)
    store.record_model_version("2024-03", {"ap": 0.90})
    store.record_model_version("2024-03", {"ap": 0.93, "note": "retrained"})
    store.record_model_version("2024-02", {"ap": 0.95})  # re-registering does not demote
    rows = _rows(store, "SELECT version, metadata, is_champion FROM model_versions ORDER BY 1")
    assert [(r.version, bool(r.is_champion)) for r in rows] == [
        ("2024-01", False),
        ("2024-02", True),
        ("2024-03", False),
    ]
    assert json.loads(rows[0].metadata) == {"ap": 0.91, "features": ["a", "b"]}
    assert json.loads(rows[2].metadata) == {"ap": 0.93, "note": "retrained"}
    assert store.count("model_versions") == 3


def test_count_refuses_unknown_tables(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown table"):
        store.count("decisions; DROP TABLE decisions")


def test_small_batches_store_the_same_rows_as_one_large_batch(tmp_path: Path) -> None:
    """SQLite takes a batch of a few rows in one multi-row statement, larger ones row by row."""
    first = synthetic_decisions(70, seed=11)
    again = synthetic_decisions(70, seed=12)  # the same trans_nums, other values: upserts
    store = Store(f"sqlite:///{tmp_path / 'small_batches.db'}")
    other = Store(f"sqlite:///{tmp_path / 'one_batch.db'}")
    store.upgrade()
    other.upgrade()
    try:
        for decisions in (first, again):
            assert other.write_batch(decisions) == 70  # above the one-statement size
            sizes, start = [1, 2, 5, 32, 7, 23], 0
            for size in sizes:
                assert store.write_batch(decisions.iloc[start : start + size]) == size
                start += size
        query = sa.text("SELECT * FROM decisions ORDER BY trans_num")
        alerts = sa.text("SELECT trans_num, risk_level, fraud_probability FROM alerts")
        with store.engine.connect() as small, other.engine.connect() as large:
            got = pd.read_sql(query, small).drop(columns=["inserted_at"])
            want = pd.read_sql(query, large).drop(columns=["inserted_at"])
            got_alerts = pd.read_sql(alerts, small).sort_values("trans_num", ignore_index=True)
            want_alerts = pd.read_sql(alerts, large).sort_values("trans_num", ignore_index=True)
    finally:
        store.close()
        other.close()
    assert len(got) == 70
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    pd.testing.assert_frame_equal(got_alerts, want_alerts, check_dtype=False)
    assert got["amount"].tolist() == pytest.approx(again["amount"].tolist())  # later wins
