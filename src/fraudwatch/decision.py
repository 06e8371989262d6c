"""The Decision: what every entry decides about a transaction and what every sink receives.

This is a contract module (it imports nothing of fraudwatch above :mod:`fraudwatch.frames`),
so the model, the sinks, the pipeline and the shells share one definition instead of each
importing it from a layer above itself:

* :func:`decide` — THE flag / risk-level rule: flagged at the threshold, risk LOW / MEDIUM
  (from half the threshold) / HIGH (flagged) / CRITICAL (very likely). The scorer, the
  scoring service (pipeline, API, DAG, demo, ``fraudwatch score``) and ``/predict`` at a
  named threshold all call it, so a probability gets the same verdict whichever way it came.
* :data:`DECISION_COLUMNS` / :class:`DecisionRow` — one row per transaction with the card
  already reduced to its token and masked form, never the PAN: trans_num, card token,
  masked PAN, event time, amount, merchant, category, state, probability, risk level,
  decision, threshold, model version, top reasons, latency, source. A batch of decisions is
  a pandas frame with exactly ``DECISION_COLUMNS``.
* :func:`make_decisions` — prepared transactions and their scores assembled into such rows.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from fraudwatch.frames import as_array, column_arrays, frame_from_columns

RISK_LEVELS = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
#: Probability from which a flagged transaction is CRITICAL (unless the threshold is higher).
CRITICAL_PROBABILITY = 0.9
#: A transaction is MEDIUM risk from this fraction of the threshold.
MEDIUM_FRACTION = 0.5

#: Columns of a decisions frame, in order (also the columns of the ``decisions`` table,
#: which adds ``inserted_at``).
DECISION_COLUMNS: tuple[str, ...] = (
    "trans_num", "card_token", "masked_pan", "event_time", "amount", "merchant", "category",
    "state", "fraud_probability", "risk_level", "decision", "threshold", "model_version",
    "reasons", "latency_ms", "source",
)  # fmt: skip


class DecisionRow(TypedDict):
    """One decision as plain values: a row of a decisions frame (``DECISION_COLUMNS``)."""

    trans_num: str
    card_token: str
    masked_pan: str
    event_time: dt.datetime
    amount: float
    merchant: str
    category: str
    state: str | None
    fraud_probability: float
    risk_level: str
    decision: int
    threshold: float
    model_version: str
    reasons: str  # JSON list of the top reasons in words
    latency_ms: float
    source: str


assert tuple(DecisionRow.__annotations__) == DECISION_COLUMNS  # one definition, two views


def risk_levels(probability: np.ndarray, threshold: float) -> np.ndarray:
    """LOW / MEDIUM (from half the threshold) / HIGH (flagged) / CRITICAL (very likely)."""
    level = np.zeros(len(probability), dtype=np.int64)
    level[probability >= threshold * MEDIUM_FRACTION] = 1
    level[probability >= threshold] = 2
    level[probability >= max(CRITICAL_PROBABILITY, threshold)] = 3
    return np.asarray(RISK_LEVELS, dtype=object)[level]


def flags(probability: np.ndarray, threshold: float) -> np.ndarray:
    """1 where the probability reaches the threshold (flagged for review), else 0 (int64)."""
    return (np.asarray(probability) >= threshold).astype(np.int64)


def decide(probability: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """The decision (flag, 0/1) and risk level of each probability at ``threshold``."""
    return flags(probability, threshold), risk_levels(probability, threshold)


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

    ``transactions``: a frame or its columns as arrays; ``scores``: ``fraud_probability``,
    ``decision``, ``risk_level`` (from :func:`decide`) and ``top_reasons``. ``received_at``
    is when each transaction arrived (``time.time()`` seconds, one value or one per row);
    latency is measured from there to ``decided_at`` (default: now).
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
