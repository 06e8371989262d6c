"""Features of the transaction alone, and the reference statistics they are measured against.

The reference (typical log-amount per category, overall fraud rate) is fitted once on the
training data and saved with the model, so a live transaction is compared with exactly the
statistics the model was trained with.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from fraudwatch.features.kernel import (
    FloatArray,
    IntArray,
    haversine_km,
    hours_of,
    is_night,
)
from fraudwatch.frames import as_array
from fraudwatch.schema import CATEGORIES, LABEL_COLUMN, is_small

_CATEGORY_CODES = {name: code for code, name in enumerate(CATEGORIES)}
_MS_PER_YEAR = 365.25 * 86_400_000
_MIN_LOG_STD = 0.05


@dataclass(frozen=True)
class FeatureReference:
    """Statistics fitted on training data: per-category log-amount mean/std, fraud rate."""

    category_log_mean: tuple[float, ...]
    category_log_std: tuple[float, ...]
    fraud_rate: float

    @classmethod
    def fit(cls, transactions: pd.DataFrame) -> FeatureReference:
        """Fit on validated training transactions (amounts per category, labels if present)."""
        log_amount = np.log1p(transactions["amt"].to_numpy(dtype=np.float64))
        codes = category_codes(transactions["category"])
        overall_mean = float(log_amount.mean()) if len(log_amount) else 0.0
        overall_std = float(log_amount.std()) if len(log_amount) > 1 else 1.0
        means, stds = [], []
        for code in range(len(CATEGORIES)):
            values = log_amount[codes == code]
            means.append(float(values.mean()) if len(values) else overall_mean)
            std = float(values.std()) if len(values) > 1 else overall_std
            stds.append(max(std, _MIN_LOG_STD))
        fraud_rate = 0.005
        if LABEL_COLUMN in transactions:
            known = pd.to_numeric(transactions[LABEL_COLUMN], errors="coerce").dropna()
            fraud_rate = float(known.mean()) if len(known) else fraud_rate
        return cls(tuple(means), tuple(stds), fraud_rate)

    def to_json(self) -> str:
        """The reference as JSON, saved beside the model."""
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> FeatureReference:
        """Read a reference saved by :meth:`to_json`."""
        data: dict[str, Any] = json.loads(text)
        return cls(
            tuple(data["category_log_mean"]), tuple(data["category_log_std"]), data["fraud_rate"]
        )


def category_codes(categories: pd.Series | np.ndarray) -> IntArray:
    """Category names as codes 0–13; raises ``ValueError`` naming any unknown category.

    Validated input has only known names; the check keeps an unvalidated caller from
    reading another category's per-card totals.
    """
    if is_small(len(categories)):
        codes = np.array([_CATEGORY_CODES.get(n, -1) for n in categories.tolist()], np.int64)
    else:
        mapped = pd.Series(categories, copy=False).map(_CATEGORY_CODES)
        codes = np.asarray(mapped.to_numpy(dtype=np.int64, na_value=-1), dtype=np.int64)
    if len(codes) and codes.min() < 0:
        unknown = sorted({str(name) for name in np.asarray(categories, dtype=object)[codes < 0]})
        raise ValueError(f"category: unknown {', '.join(map(repr, unknown[:5]))}")
    return codes


def event_ms(event_time: pd.Series | np.ndarray) -> IntArray:
    """Event times as epoch milliseconds (int64)."""
    return as_array(event_time, "datetime64[ms]").astype(np.int64)


def _is_male(gender: pd.Series | np.ndarray) -> FloatArray:
    """1.0 where gender is "M", else 0.0."""
    if is_small(len(gender)):
        return np.array([value == "M" for value in gender.tolist()], dtype=np.float64)
    return np.asarray((pd.Series(gender, copy=False) == "M").to_numpy(dtype=np.float64))


def static_features(
    transactions: pd.DataFrame | Mapping[str, Any], reference: FeatureReference
) -> dict[str, FloatArray]:
    """The features of each transaction on its own: amount, time, holder, place, category.

    ``transactions``: a frame, or its columns by name (Series or numpy arrays).
    """
    amount = as_array(transactions["amt"], np.float64)
    t_ms = event_ms(transactions["event_time"])
    dob_ms = as_array(transactions["dob"], "datetime64[ms]").astype(np.int64)
    codes = category_codes(transactions["category"])
    log_amount = np.log1p(amount)
    day = t_ms // 86_400_000
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    log_mean = np.asarray(reference.category_log_mean)[codes]
    log_std = np.asarray(reference.category_log_std)[codes]
    return {
        "amt": amount,
        "log_amt": log_amount,
        "hour": hours_of(t_ms).astype(np.float64),
        "is_night": is_night(t_ms).astype(np.float64),
        "is_weekend": (weekday >= 5).astype(np.float64),
        "age_years": (t_ms - dob_ms) / _MS_PER_YEAR,
        "gender_male": _is_male(transactions["gender"]),
        "log_city_pop": np.log1p(as_array(transactions["city_pop"], np.float64)),
        "category": codes.astype(np.float64),
        "home_merchant_km": haversine_km(
            as_array(transactions["lat"], np.float64),
            as_array(transactions["long"], np.float64),
            as_array(transactions["merch_lat"], np.float64),
            as_array(transactions["merch_long"], np.float64),
        ),
        "amt_category_z": (log_amount - log_mean) / log_std,
    }
