"""Late labels change merchant risk only after their recorded stream time, replay or not."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fraudwatch.features import FeatureReference, OnlineFeatures
from fraudwatch.features.late_labels import learn_late_labels
from fraudwatch.pipeline.prepare import prepare_batch
from fraudwatch.sources.simulator import SimulatorConfig, simulate

KEY = b"late-label-tests-key-0123456789"


@pytest.fixture(scope="module")
def stream() -> pd.DataFrame:
    """Two months of 60 simulated cards with a high fraud rate, prepared, in time order."""
    frames = simulate(
        SimulatorConfig(customers=60, seed=5, fraud_rate=0.05),
        dt.date(2020, 1, 1),
        dt.date(2020, 3, 1),
    )
    prepared = prepare_batch(pd.concat(frames, ignore_index=True), KEY)
    ordered = prepared.transactions.sort_values("event_time", kind="stable")
    return ordered.reset_index(drop=True)


def _chargebacks(stream: pd.DataFrame, effective_at: pd.Timestamp) -> pd.DataFrame:
    """The frauds of the first 40 % of the stream, reported at ``effective_at``."""
    early = stream.iloc[: int(len(stream) * 0.4)]
    frauds = early.loc[early["is_fraud"] == 1, ["merchant", "event_time", "is_fraud"]]
    assert len(frauds) > 20
    return frauds.assign(effective_at=effective_at)


def _run(
    stream: pd.DataFrame,
    reference: FeatureReference,
    batch_rows: int,
    labels: pd.DataFrame | None,
    feed_after_clock: bool,
) -> pd.DataFrame:
    """Score the stream in batches; feed the labels once the stream reaches their time.

    ``feed_after_clock``: feed them right after the batch that brought the clock to
    ``effective_at`` (as live, when the store applies them); else right before the first
    batch holding a later transaction (as a replay would).
    """
    engine = OnlineFeatures(reference)
    parts: list[pd.DataFrame] = []
    for start in range(0, len(stream), batch_rows):
        batch = stream.iloc[start : start + batch_rows]
        newest = batch["event_time"].max()
        if labels is not None and not feed_after_clock and newest > labels["effective_at"].iloc[0]:
            learn_late_labels(engine, labels)
            labels = None
        parts.append(engine.transform_many(batch))
        if labels is not None and feed_after_clock and newest >= labels["effective_at"].iloc[0]:
            learn_late_labels(engine, labels)
            labels = None
    return pd.concat(parts)


def test_same_labels_same_effective_at_same_features_on_a_replay(stream: pd.DataFrame) -> None:
    reference = FeatureReference.fit(stream)
    clock_row = 500 * (int(len(stream) * 0.55) // 500) - 1  # the last row of a live batch
    effective_at = pd.Timestamp(stream["event_time"].iloc[clock_row])
    labels = _chargebacks(stream, effective_at)

    live = _run(stream, reference, 500, labels, feed_after_clock=True)
    replay = _run(stream, reference, 333, labels, feed_after_clock=False)
    pd.testing.assert_frame_equal(live, replay)

    unlabelled = _run(stream, reference, 500, None, feed_after_clock=True)
    before = (stream["event_time"] <= effective_at).to_numpy()
    risk, plain = live["merchant_risk"].to_numpy(), unlabelled["merchant_risk"].to_numpy()
    np.testing.assert_array_equal(risk[before], plain[before])  # nothing before it is known
    assert (risk[~before] != plain[~before]).sum() > 100  # and it counts from then on


def test_a_label_learnt_at_its_transaction_time_would_leak_into_the_past(
    stream: pd.DataFrame,
) -> None:
    """What the effective time prevents: the engine's plain learning changes earlier rows."""
    reference = FeatureReference.fit(stream)
    effective_at = pd.Timestamp(stream["event_time"].iloc[int(len(stream) * 0.55)])
    labels = _chargebacks(stream, effective_at)
    engine, plain = OnlineFeatures(reference), OnlineFeatures(reference)
    engine.learn_labels_many(labels["merchant"], labels["event_time"], labels["is_fraud"])
    learn_late_labels(plain, labels)
    before = stream[stream["event_time"] <= effective_at]
    leaked = engine.transform_many(before)["merchant_risk"]
    honest = plain.transform_many(before)["merchant_risk"]
    baseline = OnlineFeatures(reference).transform_many(before)["merchant_risk"]
    pd.testing.assert_series_equal(honest, baseline)
    assert (leaked != baseline).sum() > 100
