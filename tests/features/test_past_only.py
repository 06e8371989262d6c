"""Features see only the past: appending the future, or reshuffling input, changes nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudwatch.features import FEATURE_NAMES, FeatureReference, OnlineFeatures, compute_features
from fraudwatch.features.definitions import LONGEST_WINDOW_MS, MS_PER_DAY
from tests.features.conftest import label_mask


def test_appending_future_transactions_changes_no_past_feature(
    history: pd.DataFrame, split_at: int, reference: FeatureReference
) -> None:
    known = label_mask(len(history), split_at)
    full = compute_features(history, reference, label_known=known)
    for cut in (10_000, 33_333):
        prefix = compute_features(history.iloc[:cut], reference, label_known=known[:cut])
        pd.testing.assert_frame_equal(prefix, full.iloc[:cut])


def test_input_order_does_not_matter(history: pd.DataFrame, reference: FeatureReference) -> None:
    part = history.iloc[:20_000]
    shuffled = part.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(
        compute_features(shuffled, reference).loc[part.index], compute_features(part, reference)
    )


def test_a_transaction_does_not_count_itself(
    history: pd.DataFrame, reference: FeatureReference
) -> None:
    features = compute_features(history, reference)
    first_of_card = ~history.duplicated("card_token")
    assert (features.loc[first_of_card, "card_count_7d"] == 0).all()
    assert features.loc[first_of_card, "secs_since_prev"].isna().all()
    assert features.loc[first_of_card, "card_mean_amt"].isna().all()


def test_window_counts_match_a_direct_count(
    history: pd.DataFrame, reference: FeatureReference
) -> None:
    """Spot-check card_count_1h and card_sum_24h against a plain loop over one card."""
    features = compute_features(history, reference)
    card = history["card_token"].value_counts().index[0]
    rows = history[history["card_token"] == card]
    times = rows["event_time"].to_numpy(dtype="datetime64[ms]").astype(np.int64)
    amounts = rows["amt"].to_numpy()
    for position, index in enumerate(rows.index[:400]):
        earlier = np.arange(len(rows)) < position
        in_hour = earlier & (times > times[position] - 3_600_000)
        in_day = earlier & (times > times[position] - MS_PER_DAY)
        assert features.at[index, "card_count_1h"] == in_hour.sum()
        assert np.isclose(features.at[index, "card_sum_24h"], amounts[in_day].sum(), rtol=1e-9)


def test_merchant_risk_ignores_labels_younger_than_the_delay(
    history: pd.DataFrame, reference: FeatureReference
) -> None:
    known = np.ones(len(history), dtype=bool)
    flipped = history.copy()
    last_time = history["event_time"].max()
    recent = history["event_time"] > last_time - pd.Timedelta(days=7)
    flipped.loc[recent, "is_fraud"] = 1 - flipped.loc[recent, "is_fraud"]
    before = compute_features(history, reference, label_known=known)["merchant_risk"]
    after = compute_features(flipped, reference, label_known=known)["merchant_risk"]
    pd.testing.assert_series_equal(before, after)  # last week's labels cannot matter yet
    older = history["event_time"] < last_time - pd.Timedelta(days=30)
    flipped.loc[older, "is_fraud"] = 1 - flipped.loc[older, "is_fraud"]
    moved = compute_features(flipped, reference, label_known=known)["merchant_risk"]
    assert not np.allclose(moved[recent], before[recent])


def test_online_state_is_bounded_and_expires(
    history: pd.DataFrame, reference: FeatureReference
) -> None:
    engine = OnlineFeatures(reference)
    for start in range(0, len(history), 5000):
        engine.transform_many(history.iloc[start : start + 5000])
        newest = engine.clock_ms
        for events in engine._recent:  # the only per-event state
            if events is not None:
                assert (
                    len(events) == 1 or events["t_ms"][0] > events["t_ms"][-1] - LONGEST_WINDOW_MS
                )
                assert events["t_ms"][-1] <= newest
    cards = history["card_token"].nunique()
    assert engine.cards == cards
    assert engine.retained_events() < len(history) / 5
    assert engine.expire(engine.clock_ms + 10**12) == cards
    assert engine.cards == 0 and engine.retained_events() == 0


def test_labels_in_a_live_batch_are_ignored(
    history: pd.DataFrame, reference: FeatureReference
) -> None:
    part = history.iloc[:8000]
    with_labels = OnlineFeatures(reference).transform_many(part)
    without = OnlineFeatures(reference).transform_many(part.drop(columns=["is_fraud"]))
    pd.testing.assert_frame_equal(with_labels, without)
    assert list(with_labels.columns) == list(FEATURE_NAMES)
