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
    n = len(scores)
    reasons = [
        _EMPTY_REASONS if not text else json.dumps(text.split("; "))
        for text in scores["top_reasons"]
    ]
    state = (
        transactions["state"]
        if "state" in transactions
        else pd.Series(pd.NA, index=transactions.index)
    )
    latency = (now - np.asarray(received_at, dtype=np.float64)) * 1000.0 + np.zeros(n)
    columns = {
        "trans_num": _text(transactions["trans_num"]),
        "card_token": _text(transactions["card_token"]),
        "masked_pan": _text(transactions["masked_pan"]),
        "event_time": transactions["event_time"].to_numpy(dtype="datetime64[us]"),
        "amount": transactions["amt"].to_numpy(dtype=np.float64),
        "merchant": _text(transactions["merchant"]),
        "category": _text(transactions["category"]),
        "state": pd.Series(
            state.astype(object).where(state.notna(), None).to_numpy(), dtype=object
        ),
        "fraud_probability": scores["fraud_probability"].to_numpy(dtype=np.float64),
        "risk_level": _text(scores["risk_level"]),
        "decision": scores["decision"].to_numpy(dtype=np.int64),
        "threshold": np.full(n, float(threshold)),
        "model_version": pd.Series([model_version] * n, dtype=object),
        "reasons": pd.Series(reasons, dtype=object),
        "latency_ms": latency,
        "source": pd.Series([source] * n, dtype=object),
    }
    return pd.DataFrame(columns)


_EMPTY_REASONS = "[]"


def _text(values: pd.Series) -> pd.Series:
    """Strings kept as Python objects: sinks iterate them, Arrow strings would cost a copy."""
    return pd.Series(values.astype(str).to_numpy(dtype=object), dtype=object)
