"""A seeded store for the dashboard tests: decisions built by the pipeline's own record code.

Transactions are made with numpy (cards with real-looking PANs, tokenized and masked by
``fraudwatch.privacy``), scored with a made-up probability, turned into Decision rows by
``make_decisions`` and written with ``Store.write_batch`` — the path the pipeline takes.
Some alerts get analyst labels, one of them twice (the newest verdict must win).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from fraudwatch.decision import make_decisions
from fraudwatch.privacy import card_token, mask_pan
from fraudwatch.schema import CATEGORIES
from fraudwatch.sinks import Store
from fraudwatch.sources.labels import LabelReport

KEY = b"dashboard-test-key-0123456789"
THRESHOLD = 0.5
MODEL_VERSION = "fw-20260101T000000-dashtest"
BASE_TIME = pd.Timestamp("2026-03-01 00:00:00")
STATES = np.array(["CA", "NY", "TX", "FL", "WA", "IL", "PA", None], dtype=object)
MERCHANTS = np.array(
    ["fraud_Kirlin and Sons", "fraud_Sporer-Keebler", "fraud_Haley Group", "fraud_Johnston-Casper",
     "fraud_Daugherty LLC", "fraud_Romaguera Ltd", "fraud_Kutch, Hermiston and Farrell",
     "fraud_Lind-Buckridge"],
    dtype=object,
)  # fmt: skip
REASONS = (
    "7 transactions on this card in the last hour (usual: 0.3)",
    "amount 12.4× the card's usual in this category",
    "night-time purchase on a card that shops by day",
)
METADATA = {
    "version": MODEL_VERSION,
    "threshold": THRESHOLD,
    "threshold_policy": "cost",
    "training_window": {"start": "2025-09-01", "end": "2026-02-28", "validation_start": "x"},
    "validation_metrics": {
        "model": {"average_precision": 0.946, "roc_auc": 0.9985, "precision": 0.774},
        "baseline": {"average_precision": 0.725, "roc_auc": 0.9945, "precision": 0.617},
    },
}


@dataclass
class Seeded:
    """What was written: the decisions frame, the PANs used, and the labels given."""

    decisions: pd.DataFrame
    pans: list[str]
    labels: list[tuple[str, int]] = field(default_factory=list)  # (trans_num, is_fraud) in order


def risk_levels(probability: np.ndarray, threshold: float) -> np.ndarray:
    """The scorer's rule: LOW / MEDIUM from half the threshold / HIGH flagged / CRITICAL 0.9."""
    level = np.zeros(len(probability), dtype=np.int64)
    level[probability >= threshold / 2] = 1
    level[probability >= threshold] = 2
    level[probability >= max(0.9, threshold)] = 3
    return np.array(["LOW", "MEDIUM", "HIGH", "CRITICAL"], dtype=object)[level]


def make_seed_decisions(
    n: int, seed: int = 7, hours: float = 48.0
) -> tuple[pd.DataFrame, list[str]]:
    """``n`` Decision rows over ``hours`` hours from BASE_TIME, and the PANs of their cards."""
    rng = np.random.default_rng(seed)
    pans = [f"4{rng.integers(10**14, 10**15 - 1):015d}" for _ in range(150)]
    card = rng.integers(0, len(pans), n)
    seconds = np.sort(rng.uniform(0, hours * 3600, n))
    transactions = pd.DataFrame(
        {
            "trans_num": [f"t{seed:02d}{i:07d}" for i in range(n)],
            "card_token": [card_token(pans[c], KEY) for c in card],
            "masked_pan": [mask_pan(pans[c]) for c in card],
            "event_time": BASE_TIME + pd.to_timedelta(np.round(seconds, 3), unit="s"),
            "amt": np.round(rng.gamma(2.0, 45.0, n), 2),
            "merchant": MERCHANTS[rng.integers(0, len(MERCHANTS), n)],
            "category": np.array(CATEGORIES, dtype=object)[rng.integers(0, len(CATEGORIES), n)],
            "state": STATES[rng.integers(0, len(STATES), n)],
        }
    )
    probability = np.round(rng.beta(0.5, 3.0, n), 6)
    risk = risk_levels(probability, THRESHOLD)
    scores = pd.DataFrame(
        {
            "fraud_probability": probability,
            "decision": (probability >= THRESHOLD).astype(np.int64),
            "risk_level": risk,
            "top_reasons": ["; ".join(REASONS) if r != "LOW" else "" for r in risk],
        }
    )
    decided = 1_800_000_000.0
    received = decided - rng.gamma(2.0, 0.004, n)  # latency of a few milliseconds
    frame = make_decisions(
        transactions, scores, model_version=MODEL_VERSION, threshold=THRESHOLD,
        received_at=received, source="seed", decided_at=decided,
    )  # fmt: skip
    return frame, pans


def seed_store(url: str, n: int = 3000, labelled: int = 60) -> Seeded:
    """Migrate the database at ``url``, write ``n`` decisions in batches, label some alerts."""
    frame, pans = make_seed_decisions(n)
    seeded = Seeded(frame, pans)
    with Store(url) as store:
        store.upgrade()
        store.record_model_version(MODEL_VERSION, METADATA, champion=True)
        for start in range(0, n, 1000):
            store.write_batch(frame.iloc[start : start + 1000])
        flagged = frame.loc[frame["decision"] == 1, "trans_num"].tolist()
        for position, trans_num in enumerate(flagged[:labelled]):
            verdict = int(position % 3 != 0)  # two thirds confirmed
            store.add_label(trans_num, bool(verdict), "seed-analyst", f"note {position}")
            seeded.labels.append((trans_num, verdict))
        # A changed mind: the first alert is relabelled; the newest verdict counts.
        first = flagged[0]
        store.add_label(first, True, "second-analyst", "looked again")
        seeded.labels.append((first, 1))
        # A label on a transaction that was not flagged (a missed fraud reported later).
        missed = frame.loc[frame["decision"] == 0, "trans_num"].iloc[5]
        store.add_label(missed, True, "seed-analyst", "chargeback")
        seeded.labels.append((missed, 1))
    return seeded


def reasons_of(frame: pd.DataFrame, trans_num: str) -> list[str]:
    """The reasons stored for one transaction."""
    stored = frame.loc[frame["trans_num"] == trans_num, "reasons"].iloc[0]
    return list(json.loads(stored))


#: The live-figures store (:func:`seed_live_store`): label delay, and what validation scored.
LIVE_DELAY_MS = 3_600_000
LIVE_VALIDATION_ROWS = 6_000


def live_metadata(validation_flagged: int) -> dict[str, object]:
    """Model metadata with a one-hour label delay and a validation flag rate of
    ``validation_flagged`` / 6,000, precision 0.774, recall 0.8."""
    model = {"average_precision": 0.946, "precision": 0.774, "recall": 0.8}
    return METADATA | {
        "label_delay_ms": LIVE_DELAY_MS,
        "rows": {"validation": LIVE_VALIDATION_ROWS},
        "validation_metrics": {"model": model | {"flagged": validation_flagged}},
    }


def seed_live_store(url: str, validation_flagged: int = 100) -> pd.DataFrame:
    """600 decisions whose live figures can be worked out by hand; returns them.

    590 transactions one every 20 s from BASE_TIME (older than the one-hour label delay at
    the stream clock), then 10 passed ones ten hours later (younger: label unknown). The
    first 10 are flagged; 6 of them are charged back (the first also has a *later* analyst
    verdict "legitimate": the chargeback still wins), the 7th has an analyst verdict
    "legitimate"; 2 passed ones are charged back (missed frauds). So: flag rate 10/600,
    precision 6/10, recall 6/8, over 590 labelled transactions.
    """
    frame, _pans = make_seed_decisions(600, seed=9)
    seconds = np.concatenate([np.arange(590) * 20.0, 36_000.0 + np.arange(10)])
    flagged = np.arange(600) < 10
    frame["event_time"] = BASE_TIME + pd.to_timedelta(seconds, unit="s")
    frame["fraud_probability"] = np.where(flagged, 0.9, 0.1)
    frame["decision"] = flagged.astype(np.int64)
    frame["risk_level"] = risk_levels(frame["fraud_probability"].to_numpy(), THRESHOLD)
    ids = frame["trans_num"].tolist()
    reported = datetime(2026, 3, 2, tzinfo=UTC)

    def report(index: int, label: int, source: str, later: int = 0) -> LabelReport:
        return LabelReport(
            trans_num=ids[index], label=label, source=source,  # type: ignore[arg-type]
            reported_at=reported + timedelta(hours=later),
        )  # fmt: skip

    reports = [report(i, 1, "chargeback") for i in range(6)]
    reports += [report(0, 0, "analyst", later=1), report(6, 0, "analyst")]
    reports += [report(100, 1, "chargeback"), report(101, 1, "chargeback")]
    with Store(url) as store:
        store.upgrade()
        store.record_model_version(MODEL_VERSION, live_metadata(validation_flagged), champion=True)
        store.write_batch(frame)
        store.add_labels(reports)
    return frame
