"""The Decision record: what every sink receives for one scored transaction.

One row per transaction with the card already reduced to its token and masked form —
never the PAN: trans_num, card token, masked PAN, event time, amount, merchant, category,
state, probability, risk level, decision, threshold, model version, top reasons, latency.
A batch of decisions is a pandas frame with exactly ``DECISION_COLUMNS``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from fraudwatch.frames import as_array, column_arrays, frame_from_columns

#: Columns of a decisions frame, in order (also the columns of the ``decisions`` table,
#: which adds ``inserted_at``).
DECISION_COLUMNS: tuple[str, ...] = (
    "trans_num", "card_token", "masked_pan", "event_time", "amount", "merchant", "category",
    "state", "fraud_probability", "risk_level", "decision", "threshold", "model_version",
    "reasons", "latency_ms", "source",
)  # fmt: skip


def make_decisions(
    transactions: pd.DataFrame | Mapping[str, Any],
    scores: pd.DataFrame,
    *,
    model_version: str,
    threshold: float,
    received_at: float | np.ndarray,
    source: str,
    decided_at: float | None = None,
) -> pd.DataFrame:
    """Join prepared transactions and their scores into Decision rows.

    ``transactions``: a frame or its columns as arrays. ``received_at`` is when each
    transaction arrived (``time.time()`` seconds, one value or
    one per row); latency is measured from there to ``decided_at`` (default: now).
    """
    now = time.time() if decided_at is None else decided_at
    n = len(scores)
    scored = _arrays(scores)
    given = _arrays(transactions)
    reasons = [
        _EMPTY_REASONS if not text else json.dumps(text.split("; "))
        for text in scored["top_reasons"].tolist()
    ]
    state = _objects(given["state"]) if "state" in given else np.full(n, None)
    latency = (now - np.asarray(received_at, dtype=np.float64)) * 1000.0 + np.zeros(n)
    columns = {
        "trans_num": _objects(given["trans_num"]),
        "card_token": _objects(given["card_token"]),
        "masked_pan": _objects(given["masked_pan"]),
        "event_time": as_array(given["event_time"], "datetime64[us]"),
        "amount": as_array(given["amt"], np.float64),
        "merchant": _objects(given["merchant"]),
        "category": _objects(given["category"]),
        "state": state,
        "fraud_probability": as_array(scored["fraud_probability"], np.float64),
        "risk_level": _objects(scored["risk_level"]),
        "decision": as_array(scored["decision"], np.int64),
        "threshold": np.full(n, float(threshold)),
        "model_version": np.full(n, model_version, dtype=object),
        "reasons": np.array(reasons, dtype=object),
        "latency_ms": latency,
        "source": np.full(n, source, dtype=object),
    }
    # one object block, never converted to Arrow strings: the sinks iterate Python values
    return frame_from_columns(columns, pd.RangeIndex(n))


_EMPTY_REASONS = "[]"


def _arrays(columns: pd.DataFrame | Mapping[str, Any]) -> Any:
    """A frame's column arrays by name (no Series per column), or the mapping as it is."""
    if isinstance(columns, pd.DataFrame) and columns.columns.is_unique:
        return column_arrays(columns)
    return columns


def _objects(values: Any) -> np.ndarray:
    """Strings as a numpy object array (missing → None)."""
    array = np.array(as_array(values, object), dtype=object)
    missing = pd.isna(array)
    if missing.any():
        array[missing] = None
    return array
