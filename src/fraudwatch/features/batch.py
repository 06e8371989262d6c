"""The batch engine: every feature of every row of a history at once, for training.

Each row sees only its past: rows are ordered by (card, event time, arrival) and every
per-card value is a total *before* the row. Merchant risk sees only labels that are both
known (``label_known``) and older than the label delay at the row's time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudwatch.features.definitions import (
    CARD_TTL_MS,
    DEFAULT_LABEL_DELAY_MS,
    FEATURE_NAMES,
)
from fraudwatch.features.kernel import (
    BoolArray,
    CardRows,
    CardTotalsBefore,
    FloatArray,
    IntArray,
    cumsum_before,
    expanding_features,
    group_time_key,
    is_night,
    merchant_risk,
    pace_features,
    previous_features,
    segment_starts,
    split_segments,
    window_features,
)
from fraudwatch.features.static import FeatureReference, category_codes, event_ms, static_features
from fraudwatch.schema import LABEL_COLUMN

CARD_COLUMN = "card_token"


def compute_features(
    transactions: pd.DataFrame,
    reference: FeatureReference,
    *,
    label_known: BoolArray | None = None,
    label_delay_ms: int = DEFAULT_LABEL_DELAY_MS,
    card_ttl_ms: int = CARD_TTL_MS,
) -> pd.DataFrame:
    """Features (columns ``FEATURE_NAMES``) of validated transactions, in input row order.

    ``transactions`` needs ``card_token`` plus the validated contract columns; rows need not
    be sorted. ``label_known`` marks rows whose ``is_fraud`` may feed merchant risk (default:
    none — pass the training rows' mask when training).
    """
    n = len(transactions)
    cards = pd.factorize(transactions[CARD_COLUMN])[0].astype(np.int64)
    t_ms = event_ms(transactions["event_time"])
    order = np.lexsort((np.arange(n), t_ms, cards))
    amount = transactions["amt"].to_numpy(dtype=np.float64)[order]
    category = category_codes(transactions["category"])[order]
    merchant = pd.factorize(transactions["merchant"])[0].astype(np.int64)
    sorted_t = t_ms[order]
    segment = split_segments(cards[order], sorted_t, card_ttl_ms)
    starts = segment_starts(segment)
    night = is_night(sorted_t).astype(np.float64)

    running = cumsum_before(
        np.column_stack((amount, amount * amount, night)), starts, np.zeros((len(starts) - 1, 3))
    )
    rows = CardRows(
        segment=segment,
        t_ms=sorted_t,
        amount=amount,
        merchant=merchant[order],
        category=category,
        merch_lat=transactions["merch_lat"].to_numpy(dtype=np.float64)[order],
        merch_long=transactions["merch_long"].to_numpy(dtype=np.float64)[order],
        amount_before=running[:, 0],
        night_before=running[:, 2],
    )
    everything = np.arange(n, dtype=np.int64)
    features = window_features(rows, everything)
    features.update(previous_features(rows, everything))
    first_of_row = np.repeat(starts[:-1], np.diff(starts))
    category_count, category_sum = _category_totals_before(segment, category, amount)
    totals = CardTotalsBefore(
        count=(everything - first_of_row).astype(np.float64),
        amount_sum=running[:, 0],
        amount_sumsq=running[:, 1],
        night_count=running[:, 2],
        first_seen_ms=sorted_t[first_of_row],
        category_count=category_count,
        category_sum=category_sum,
    )
    features.update(expanding_features(amount, sorted_t, totals))

    unsorted = np.empty(n, dtype=np.int64)
    unsorted[order] = everything
    result = {name: values[unsorted] for name, values in features.items()}
    result.update(static_features(transactions, reference))
    result.update(pace_features(result))
    result["merchant_risk"] = _merchant_risk(
        transactions, merchant, t_ms, reference.fraud_rate, label_known, label_delay_ms
    )
    return pd.DataFrame({name: result[name] for name in FEATURE_NAMES}, index=transactions.index)


def _category_totals_before(
    segment: IntArray, category: IntArray, amount: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Per row: the card segment's count and sum of earlier amounts in the row's category."""
    n = len(segment)
    order = np.lexsort((np.arange(n), category, segment))
    group = segment[order] * 64 + category[order]
    starts = segment_starts(group)
    values = np.column_stack((np.ones(n), amount[order]))
    before = cumsum_before(values, starts, np.zeros((len(starts) - 1, 2)))
    count, total = np.empty(n), np.empty(n)
    count[order], total[order] = before[:, 0], before[:, 1]
    return count, total


def _merchant_risk(
    transactions: pd.DataFrame,
    merchant: IntArray,
    t_ms: IntArray,
    prior: float,
    label_known: BoolArray | None,
    label_delay_ms: int,
) -> FloatArray:
    """Smoothed fraud rate of each row's merchant over known labels older than the delay."""
    n = len(transactions)
    zeros = np.zeros(n)
    if label_known is None or LABEL_COLUMN not in transactions:
        return merchant_risk(zeros, zeros, prior)
    labels = pd.to_numeric(transactions[LABEL_COLUMN], errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    usable = np.asarray(label_known, dtype=bool) & ~np.isnan(labels)
    keys = group_time_key(merchant[usable], t_ms[usable])
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    cumulative_frauds = np.concatenate(([0.0], np.cumsum(labels[usable][order])))
    upto = np.searchsorted(keys, group_time_key(merchant, t_ms - label_delay_ms), side="left")
    first = np.searchsorted(
        keys, group_time_key(merchant, np.full(n, np.iinfo(np.int64).min // 2)), side="left"
    )
    labelled = (upto - first).astype(np.float64)
    frauds = cumulative_frauds[upto] - cumulative_frauds[first]
    return merchant_risk(frauds, labelled, prior)
