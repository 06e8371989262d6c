"""The vectorised arithmetic both feature engines share, so they agree to the last bit.

Rows arrive grouped by card *segment* (one card's history, restarted after a long silence)
and sorted by time inside it. Running totals are accumulated strictly in row order with
``np.cumsum`` (sequential, unlike ``np.sum``), starting from a carried base: the batch
engine starts every segment at zero, the online engine at the card's saved totals, and
both therefore add the same floats in the same order. Window features are differences of
those "before" totals, found with one ``searchsorted`` on a (segment, time) key.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fraudwatch.features.definitions import (
    AMOUNT_MEAN_FLOOR,
    AMOUNT_STD_FLOOR,
    MERCHANT_PRIOR_WEIGHT,
    MIN_TRAVEL_HOURS,
    MS_PER_DAY,
    MS_PER_HOUR,
    NIGHT_HOURS,
    WINDOWS,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

EARTH_RADIUS_KM = 6371.0088
#: Times enter the (group, time) search key relative to this epoch (1990-01-01, ms) ...
_KEY_EPOCH_MS = 631_152_000_000
#: ... within 2**41 ms (69 years), leaving 22 bits for the group rank.
_TIME_BITS = 41
_MAX_GROUPS = 1 << (63 - _TIME_BITS)
_NIGHT = np.array([hour in NIGHT_HOURS for hour in range(24)])


def haversine_km(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
) -> FloatArray:
    """Great-circle distance in km between two arrays of points (degrees)."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlmb = np.radians(lon2 - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def hours_of(t_ms: IntArray) -> IntArray:
    """Hour of the day (0–23) of epoch-millisecond times."""
    return np.asarray((t_ms // MS_PER_HOUR) % 24, dtype=np.int64)


def is_night(t_ms: IntArray) -> BoolArray:
    """Whether each time falls in the night hours."""
    return np.asarray(_NIGHT[hours_of(t_ms)])


def segment_starts(groups: IntArray) -> IntArray:
    """Index of the first row of each run of equal values, plus ``len`` at the end."""
    n = len(groups)
    if n == 0:
        return np.zeros(1, dtype=np.int64)
    change = np.flatnonzero(groups[1:] != groups[:-1]) + 1
    return np.concatenate(([0], change, [n])).astype(np.int64)


def cumsum_before(values: FloatArray, starts: IntArray, bases: FloatArray) -> FloatArray:
    """Per segment: base, base + v0, (base + v0) + v1, ... — each row's total *before* it.

    ``values`` may be 2-D (rows × columns); ``bases`` then has one row per segment.
    Accumulation is sequential, so the same floats added in the same order give the same
    bits whichever engine (and whatever batch boundaries) produced them.
    """
    out = np.empty_like(values)
    lengths = np.diff(starts)
    by_length = np.argsort(-lengths, kind="stable")  # longest first: active ones are a prefix
    firsts, lengths = starts[:-1][by_length], lengths[by_length]
    out[firsts[lengths > 0]] = bases[by_length][lengths > 0]
    descending = -lengths
    for step in range(1, int(lengths.max(initial=0))):
        rows = firsts[: np.searchsorted(descending, -step, side="left")] + step
        out[rows] = out[rows - 1] + values[rows - 1]  # one sequential addition per segment
    return out


def group_time_key(groups: IntArray, t_ms: IntArray) -> IntArray:
    """A sortable int64 key (group number >= 0, time) for window searches (``searchsorted``)."""
    if len(groups) and groups.max() >= _MAX_GROUPS:
        raise ValueError(f"too many groups in one batch (max {_MAX_GROUPS:,})")
    offset = np.clip(t_ms - _KEY_EPOCH_MS, 0, (1 << _TIME_BITS) - 1)
    return np.asarray((groups << _TIME_BITS) | offset, dtype=np.int64)


def split_segments(
    cards: IntArray, t_ms: IntArray, ttl_ms: int, fresh: BoolArray | None = None
) -> IntArray:
    """Segment numbers 0, 1, ... for rows sorted by (card, time): a new card, a silence
    longer than ``ttl_ms``, or a row marked ``fresh`` starts a new segment."""
    n = len(cards)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.ones(n, dtype=bool)
    new[1:] = (cards[1:] != cards[:-1]) | (t_ms[1:] - t_ms[:-1] > ttl_ms)
    if fresh is not None:
        new |= fresh
    return np.cumsum(new, dtype=np.int64) - 1


@dataclass
class CardRows:
    """Rows of one or more card segments, sorted by (segment, time), with running totals.

    ``amount_before`` and ``night_before`` are each row's segment totals *before* the row;
    they are all the window features need. Query rows are those features are wanted for.
    """

    segment: IntArray
    t_ms: IntArray
    amount: FloatArray
    merchant: IntArray
    category: IntArray
    merch_lat: FloatArray
    merch_long: FloatArray
    amount_before: FloatArray
    night_before: FloatArray


def window_features(rows: CardRows, query: IntArray) -> dict[str, FloatArray]:
    """Counts, sums, distinct merchants/categories and night counts over the past windows."""
    key = group_time_key(rows.segment, rows.t_ms)
    seg_start = segment_starts(rows.segment)
    first_of_row = np.repeat(seg_start[:-1], np.diff(seg_start))
    out: dict[str, FloatArray] = {}
    starts: dict[str, IntArray] = {}
    for name, length in WINDOWS.items():
        # first row of the segment strictly inside (t - window, t]; earlier rows are out
        lower = group_time_key(rows.segment[query], rows.t_ms[query] - length)
        start = np.maximum(np.searchsorted(key, lower, side="right"), first_of_row[query])
        start = np.minimum(start, query)
        starts[name] = start
        out[f"card_count_{name}"] = (query - start).astype(np.float64)
        out[f"card_sum_{name}"] = rows.amount_before[query] - rows.amount_before[start]
    day_start = starts["24h"]
    out["night_count_24h"] = rows.night_before[query] - rows.night_before[day_start]
    out["distinct_merchants_24h"] = _distinct_in_window(
        rows.segment, rows.merchant, query, day_start
    )
    out["distinct_categories_24h"] = _distinct_in_window(
        rows.segment, rows.category, query, day_start
    )
    out["card_max_amt_24h"] = _max_in_window(rows.amount, query, day_start)
    return out


def _max_in_window(values: FloatArray, query: IntArray, start: IntArray) -> FloatArray:
    """Largest of ``values`` among rows [start, query); NaN for an empty window."""
    best = np.full(len(query), -np.inf)
    widths = query - start
    for lag in range(1, int(widths.max(initial=0)) + 1):
        active = widths >= lag
        best[active] = np.maximum(best[active], values[query[active] - lag])
    return np.where(np.isfinite(best), best, np.nan)


def _distinct_in_window(
    segment: IntArray, values: IntArray, query: IntArray, start: IntArray
) -> FloatArray:
    """Distinct ``values`` among rows [start, query) of each query's segment.

    A row k counts when the next row with the same (segment, value) comes at or after the
    query row, i.e. it is the last occurrence inside the window.
    """
    n = len(values)
    order = np.lexsort((np.arange(n), values, segment))
    next_same = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    same = (segment[order][1:] == segment[order][:-1]) & (values[order][1:] == values[order][:-1])
    next_same[order[:-1][same]] = order[1:][same]
    counts = np.zeros(len(query), dtype=np.float64)
    widths = query - start
    for lag in range(1, int(widths.max(initial=0)) + 1):
        active = widths >= lag
        rows = query[active] - lag
        counts[active] += next_same[rows] >= query[active]
    return counts


def previous_features(rows: CardRows, query: IntArray) -> dict[str, FloatArray]:
    """Seconds since, distance from and implied speed since the card's previous transaction."""
    has_prev = (query > 0) & (rows.segment[np.maximum(query - 1, 0)] == rows.segment[query])
    prev = np.where(has_prev, query - 1, query)
    seconds = (rows.t_ms[query] - rows.t_ms[prev]) / 1000.0
    km = haversine_km(
        rows.merch_lat[prev], rows.merch_long[prev], rows.merch_lat[query], rows.merch_long[query]
    )
    hours = np.maximum(seconds / 3600.0, MIN_TRAVEL_HOURS)
    nan = np.full(len(query), np.nan)
    return {
        "prev_amt": np.where(has_prev, rows.amount[prev], nan),
        "secs_since_prev": np.where(has_prev, seconds, nan),
        "prev_merchant_km": np.where(has_prev, km, nan),
        "travel_speed_kmh": np.where(has_prev, km / hours, nan),
    }


@dataclass
class CardTotalsBefore:
    """A card's running totals just before each query row (expanding, since first seen)."""

    count: FloatArray
    amount_sum: FloatArray
    amount_sumsq: FloatArray
    night_count: FloatArray
    first_seen_ms: IntArray
    category_count: FloatArray
    category_sum: FloatArray


def expanding_features(
    amount: FloatArray, t_ms: IntArray, totals: CardTotalsBefore
) -> dict[str, FloatArray]:
    """Amount vs the card's habits, its usual pace, category mix and night habit."""
    n = totals.count
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, totals.amount_sum / n, np.nan)
        variance = np.where(
            n > 1, (totals.amount_sumsq - totals.amount_sum * mean) / (n - 1), np.nan
        )
        std = np.sqrt(np.maximum(variance, 0.0))
        days_known = np.maximum((t_ms - totals.first_seen_ms) / MS_PER_DAY, 1.0)
        category_mean = np.where(
            totals.category_count > 0, totals.category_sum / totals.category_count, np.nan
        )
        return {
            "card_daily_rate": np.where(n > 0, n / days_known, np.nan),
            "card_mean_amt": mean,
            "card_std_amt": std,
            "amt_card_z": (amount - mean)
            / np.maximum(np.nan_to_num(std, nan=0.0), AMOUNT_STD_FLOOR),
            "amt_card_ratio": amount / np.maximum(mean, AMOUNT_MEAN_FLOOR),
            "amt_card_category_ratio": amount / np.maximum(category_mean, AMOUNT_MEAN_FLOOR),
            "card_category_share": np.where(n > 0, totals.category_count / n, np.nan),
            "card_night_share": np.where(n > 0, totals.night_count / n, np.nan),
        }


def pace_features(features: dict[str, FloatArray]) -> dict[str, FloatArray]:
    """Recent activity against the card's usual pace (from features already computed)."""
    daily = features["card_daily_rate"]
    usual_spend = daily * features["card_mean_amt"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "card_count_24h_vs_usual": features["card_count_24h"] / daily,
            "card_sum_24h_vs_usual": features["card_sum_24h"]
            / np.maximum(usual_spend, AMOUNT_MEAN_FLOOR),
            "silence_vs_usual": features["secs_since_prev"] * daily / 86_400.0,
            "amt_vs_max_24h": features["amt"]
            / np.maximum(features["card_max_amt_24h"], AMOUNT_MEAN_FLOOR),
        }


def merchant_risk(frauds: FloatArray, labelled: FloatArray, prior: float) -> FloatArray:
    """Fraud rate of a merchant's matured labels, smoothed toward the global ``prior``."""
    return (frauds + MERCHANT_PRIOR_WEIGHT * prior) / (labelled + MERCHANT_PRIOR_WEIGHT)
