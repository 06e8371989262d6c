"""The card number never reaches the database, whatever table or text column one looks in."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from fraudwatch.decision import make_decisions
from fraudwatch.pipeline.prepare import prepare_batch
from fraudwatch.sinks import Store, dead_letters
from fraudwatch.sinks.records import DeadLetter

_DIGIT_RUNS = re.compile(r"\d[\d -]{6,}\d")


def _fake_scores(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    probability = rng.random(n)
    return pd.DataFrame(
        {
            "fraud_probability": probability,
            "decision": (probability >= 0.9).astype(np.int64),
            "risk_level": np.where(probability >= 0.9, "HIGH", "LOW"),
            "top_reasons": np.where(probability >= 0.45, "7 transactions in 1h; night", ""),
        }
    )


def _text_values(store: Store) -> dict[str, list[str]]:
    """Every non-null value of every text column of every table, read with SQL."""
    found: dict[str, list[str]] = {}
    inspector = sa.inspect(store.engine)
    with store.engine.connect() as conn:
        for table in inspector.get_table_names():
            for column in inspector.get_columns(table):
                if not isinstance(column["type"], sa.String):
                    continue
                query = sa.text(f'SELECT "{column["name"]}" FROM "{table}"')
                values = [v for v in conn.execute(query).scalars() if v is not None]
                found[f"{table}.{column['name']}"] = [str(v) for v in values]
    return found


def test_no_card_number_in_any_text_column(store: Store, kaggle_head: Path, pan_key: bytes) -> None:
    raw = pd.read_csv(kaggle_head, index_col=0, dtype={"cc_num": str})
    pans = set(raw["cc_num"])
    broken = raw.iloc[:40].copy()  # rejected records carry their (masked) card to the dead letter
    broken["amt"] = -1.0
    broken["trans_num"] = broken["trans_num"] + "-bad"
    broken.iloc[:5, broken.columns.get_loc("merchant")] = "paid with " + broken["cc_num"].iloc[:5]
    shortest = raw["cc_num"][raw["cc_num"].str.len() == raw["cc_num"].str.len().min()].iloc[:3]
    assert shortest.str.len().max() <= 11  # the Kaggle head holds 11-digit card numbers
    broken.iloc[5:8, broken.columns.get_loc("job")] = ("card " + shortest).to_numpy()
    prepared = prepare_batch(pd.concat([raw, broken], ignore_index=True), pan_key)
    assert len(prepared.transactions) == len(raw) and len(prepared.rejected) == 40

    decisions = make_decisions(
        prepared.transactions,
        _fake_scores(len(prepared.transactions)),
        model_version="test-model",
        threshold=0.9,
        received_at=time.time(),
        source="kaggle_head",
    )
    letters = dead_letters(prepared.rejected, source="kaggle_head")
    for start in range(0, len(decisions), 1_000):
        store.write_batch(
            decisions.iloc[start : start + 1_000],
            letters if start == 0 else (),
            checkpoint=("kaggle_head", str(start)),
        )
    store.add_label(str(raw["trans_num"].iloc[0]), True, "analyst")
    store.record_model_version("test-model", {"threshold": 0.9}, champion=True)
    assert store.count("decisions") == len(raw)
    assert store.count("dead_letter") == 40
    assert store.count("alerts") > 0

    text = _text_values(store)
    assert {"decisions.masked_pan", "dead_letter.record", "alerts.trans_num"} <= set(text)
    assert any("******" in value for value in text["decisions.masked_pan"])
    for where, values in text.items():
        runs = {re.sub(r"[ -]", "", run) for value in values for run in _DIGIT_RUNS.findall(value)}
        leaked = {pan for pan in pans for run in runs if pan in run}
        assert not leaked, f"{len(leaked)} card numbers found in {where}"


def test_no_card_number_in_the_sqlite_files(
    tmp_path: Path, kaggle_head: Path, pan_key: bytes
) -> None:
    raw = pd.read_csv(kaggle_head, index_col=0, dtype={"cc_num": str}, nrows=1_000)
    prepared = prepare_batch(raw, pan_key)
    decisions = make_decisions(
        prepared.transactions,
        _fake_scores(len(prepared.transactions)),
        model_version="m",
        threshold=0.9,
        received_at=time.time(),
        source="kaggle_head",
    )
    path = tmp_path / "raw.db"
    with Store(f"sqlite:///{path}") as store:
        store.upgrade()
        store.write_batch(decisions)
        data = b"".join(p.read_bytes() for p in tmp_path.glob("raw.db*"))  # db + WAL
    assert len(data) > 100_000
    assert b"******" in data
    assert not [pan for pan in set(raw["cc_num"]) if pan.encode() in data]


def test_dead_letters_mask_card_numbers_anywhere_in_the_record() -> None:
    pan, short = "4992346398065154184", "60416207185"
    record = {
        "note": int(pan),  # a JSON number, under a key no one expects
        "items": ["x", f"paid {short}", {"deep": short}],
        pan: "a card number as a key",
        "trans_num": pan,  # not a Kaggle trans_num: masked
        "current_time": pan,  # not an epoch in 2000-2100: masked
    }
    stored = DeadLetter(source="feed", reason="r", record=record).as_row()["record"]
    assert pan not in stored and short not in stored
    for digits in re.findall(r"\d+", stored):
        assert len(digits) <= 6, stored
    # what only looks long is kept: a real trans_num, epoch times, amounts
    real = {"trans_num": "0b242abb623afc578575680df30655b9", "unix_time": 1371816865,
            "current_time": 1592906402000, "amt": 1234.56, "zip": 12345}  # fmt: skip
    kept = json.loads(DeadLetter(source="feed", reason="r", record=real).as_row()["record"])
    assert kept == real


def test_unstorable_text_becomes_a_dead_letter_both_databases_store(
    store: Store, kaggle_head: Path, pan_key: bytes
) -> None:
    """A NUL (which PostgreSQL refuses) or a lone surrogate must cost one record, not the
    batch: it is rejected with its reason and the rest is stored."""
    raw = pd.read_csv(kaggle_head, index_col=0, dtype={"cc_num": str}, nrows=50)
    records = raw.to_dict("records")
    records[3]["merchant"] = "fraud_\x00Kirlin"
    records[7]["street"] = "12 Elm\ud800 St"
    prepared = prepare_batch(records, pan_key)
    assert len(prepared.transactions) == 48
    decisions = make_decisions(
        prepared.transactions, _fake_scores(48), model_version="m", threshold=0.9,
        received_at=time.time(), source="feed",
    )  # fmt: skip
    store.write_batch(decisions, dead_letters(prepared.rejected, source="feed"))
    assert store.count("decisions") == 48 and store.count("dead_letter") == 2
    stored = _text_values(store)["dead_letter.record"]
    assert any("fraud_\ufffdKirlin" in record for record in stored)
