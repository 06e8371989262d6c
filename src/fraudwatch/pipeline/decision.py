"""The Decision record: what every sink receives for one scored transaction.

One row per transaction with the card already reduced to its token and masked form —
never the PAN: trans_num, card token, masked PAN, event time, amount, merchant, category,
state, probability, risk level, decision, threshold, model version, top reasons, latency.
A batch of decisions is a pandas frame with exactly ``DECISION_COLUMNS``.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd

#: Columns of a decisions frame, in order (also the columns of the ``decisions`` table,
#: which adds ``inserted_at``).
DECISION_COLUMNS: tuple[str, ...] = (
    "trans_num", "card_token", "masked_pan", "event_time", "amount", "merchant", "category",
    "state", "fraud_probability", "risk_level", "decision", "threshold", "model_version",
    "reasons", "latency_ms", "source",
)  # fmt: skip


def make_decisions(
    transactions: pd.DataFrame,
    scores: pd.DataFrame,
    *,
    model_version: str,
    threshold: float,
    received_at: float | np.ndarray,
    source: str,
    decided_at: float | None = None,
) -> pd.DataFrame:
    """Join prepared transactions and their scores into Decision rows.

    ``received_at`` is when each transaction arrived (``time.time()`` seconds, one value or
    one per row); latency is measured from there to ``decided_at`` (default: now).
    """
    now = time.time() if decided_at is None else decided_at
    reasons = [json.dumps(text.split("; ") if text else []) for text in scores["top_reasons"]]
    state = (
        transactions["state"]
        if "state" in transactions
        else pd.Series(pd.NA, index=transactions.index)
    )
    return pd.DataFrame(
        {
            "trans_num": transactions["trans_num"].astype(str).to_numpy(),
            "card_token": transactions["card_token"].to_numpy(),
            "masked_pan": transactions["masked_pan"].to_numpy(),
            "event_time": transactions["event_time"].to_numpy(dtype="datetime64[us]"),
            "amount": transactions["amt"].to_numpy(dtype=np.float64),
            "merchant": transactions["merchant"].astype(str).to_numpy(),
            "category": transactions["category"].astype(str).to_numpy(),
            "state": state.astype(object).where(state.notna(), None).to_numpy(),
            "fraud_probability": scores["fraud_probability"].to_numpy(dtype=np.float64),
            "risk_level": scores["risk_level"].astype(str).to_numpy(),
            "decision": scores["decision"].to_numpy(dtype=np.int64),
            "threshold": np.full(len(scores), float(threshold)),
            "model_version": np.full(len(scores), model_version, dtype=object),
            "reasons": np.asarray(reasons, dtype=object),
            "latency_ms": (now - np.asarray(received_at, dtype=np.float64)) * 1000.0
            + np.zeros(len(scores)),
            "source": np.full(len(scores), source, dtype=object),
        }
    )
