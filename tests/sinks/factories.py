"""Synthetic decision frames for the store tests (numpy/pandas only, no model)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from fraudwatch.decision import DECISION_COLUMNS
from fraudwatch.schema import CATEGORIES

RISK_LEVELS = np.array(["LOW", "MEDIUM", "HIGH", "CRITICAL"], dtype=object)


def synthetic_decisions(
    n: int, *, start: int = 0, seed: int = 0, model_version: str = "m1", fraud_share: float = 0.05
) -> pd.DataFrame:
    """``n`` decisions with trans_num ``tx00000000`` + start ..., about fraud_share flagged."""
    rng = np.random.default_rng(seed)
    probability = rng.random(n)
    decision = (probability >= 1 - fraud_share).astype(np.int64)
    risk = RISK_LEVELS[np.minimum((probability * 4).astype(int), 3)]
    reasons = [json.dumps([f"reason {i % 3}"]) if d else "[]" for i, d in enumerate(decision)]
    frame = pd.DataFrame(
        {
            "trans_num": [f"tx{start + i:08d}" for i in range(n)],
            "card_token": [f"{(start + i) % 997:032x}" for i in range(n)],
            "masked_pan": "411111******1111",
            "event_time": (
                pd.Timestamp("2020-06-21") + pd.to_timedelta(np.arange(start, start + n), unit="s")
            ).astype("datetime64[us]"),
            "amount": np.round(rng.gamma(2.0, 40.0, n), 2),
            "merchant": [f"fraud_Merchant {i % 50}" for i in range(n)],
            "category": np.array(CATEGORIES, dtype=object)[rng.integers(0, len(CATEGORIES), n)],
            "state": np.where(rng.random(n) < 0.1, None, "CA"),
            "fraud_probability": probability,
            "risk_level": risk,
            "decision": decision,
            "threshold": 0.95,
            "model_version": model_version,
            "reasons": reasons,
            "latency_ms": rng.random(n) * 5,
            "source": "synthetic",
        }
    )
    return frame.loc[:, list(DECISION_COLUMNS)]
