"""Training: temporal validation, class weights, calibration, threshold policies, artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fraudwatch.features import FEATURE_NAMES, STATIC_FEATURE_NAMES, compute_features
from fraudwatch.model.metrics import pr_curve_points
from fraudwatch.model.registry import ModelBundle, ModelNotFoundError, load_bundle
from fraudwatch.model.train import (
    TrainConfig,
    TrainingDataError,
    choose_threshold,
    train_model,
    training_features,
)
from fraudwatch.schema import LABEL_COLUMN


def test_metadata_records_what_was_trained(bundle: ModelBundle, train_frame: pd.DataFrame) -> None:
    meta = bundle.metadata
    assert meta["version"].startswith("fw-")
    assert meta["feature_names"] == list(FEATURE_NAMES)
    assert bundle.baseline.features == list(STATIC_FEATURE_NAMES)
    window = meta["training_window"]
    assert window["start"] < window["validation_start"] < window["end"]
    assert meta["rows"]["training"] + meta["rows"]["validation"] == len(train_frame)
    assert {"lightgbm", "numpy", "pandas", "python"} <= set(meta["libraries"])
    assert len(meta["data_hash"]) == 64
    assert meta["threshold"] == bundle.model.threshold
    for learner in ("model", "baseline"):
        assert 0 < meta["validation_metrics"][learner]["average_precision"] <= 1


def test_validation_is_the_latest_slice(bundle: ModelBundle, train_frame: pd.DataFrame) -> None:
    start = pd.Timestamp(bundle.metadata["training_window"]["validation_start"])
    later = (train_frame["event_time"] >= start).sum()
    assert later == bundle.metadata["rows"]["validation"]
    assert 0.1 < later / len(train_frame) < 0.35


def test_history_features_beat_the_static_baseline_on_validation(bundle: ModelBundle) -> None:
    validation = bundle.metadata["validation_metrics"]
    assert validation["model"]["average_precision"] > 0.75
    assert (
        validation["model"]["average_precision"] > validation["baseline"]["average_precision"] + 0.1
    )


def test_probabilities_are_calibrated_on_validation(bundle: ModelBundle) -> None:
    # Platt scaling: fitted slope positive (higher margin, higher probability)
    assert bundle.model.calibration.slope > 0
    margins = np.linspace(-10, 10, 21)
    probabilities = bundle.model.calibration.apply(margins)
    assert np.all(np.diff(probabilities) > 0)


def test_model_folder_round_trip(bundle: ModelBundle, model_dir: Path) -> None:
    loaded = load_bundle(model_dir)
    assert loaded.version == bundle.version
    assert loaded.model.threshold == bundle.model.threshold
    assert loaded.reference == bundle.reference
    metadata = json.loads((model_dir / "metadata.json").read_text())
    assert metadata["model"]["features"] == list(FEATURE_NAMES)


def test_missing_model_folder_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="fraudwatch train"):
        load_bundle(tmp_path / "nowhere")


def test_too_little_data_is_refused(train_frame: pd.DataFrame) -> None:
    with pytest.raises(TrainingDataError, match="at least 1,000"):
        train_model(train_frame.iloc[:500])
    no_fraud = train_frame.assign(is_fraud=0)
    with pytest.raises(TrainingDataError, match="fewer than 5 frauds"):
        train_model(no_fraud)


# -- threshold policies, by hand -------------------------------------------------------------

LABELS = np.array([1, 1, 0, 1, 0, 0, 0, 0, 0, 0])
SCORES = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])


def test_cost_policy_minimises_cost() -> None:
    # flag top k: k=2 → FP 0, FN 1; k=4 → FP 1, FN 0.
    # FN cost 5, FP cost 1: k=2 costs 5, k=4 costs 1 → threshold 0.7
    assert choose_threshold(LABELS, SCORES, TrainConfig(false_negative_cost=5)) == 0.7
    # FN cost 0.5: k=2 costs 0.5, k=4 costs 1, k=0 costs 1.5 → 0.9
    assert choose_threshold(LABELS, SCORES, TrainConfig(false_negative_cost=0.5)) == 0.9


def test_alert_budget_policy_caps_the_alert_rate() -> None:
    config = TrainConfig(threshold_policy="alert_budget", alert_budget=0.3)
    assert choose_threshold(LABELS, SCORES, config) == 0.8  # 3 of 10 rows


def test_precision_policy_keeps_precision_above_the_floor() -> None:
    # precision at k: 1, 1, 2/3, 3/4, 3/5 ... → floor 0.75 allows k=4 → 0.7
    config = TrainConfig(threshold_policy="precision", min_precision=0.75)
    assert choose_threshold(LABELS, SCORES, config) == 0.7


def test_threshold_never_splits_tied_scores() -> None:
    tied = np.array([0.9, 0.5, 0.5, 0.1])
    config = TrainConfig(threshold_policy="alert_budget", alert_budget=0.5)
    assert choose_threshold(np.array([1, 1, 0, 0]), tied, config) == 0.9


def test_a_policy_that_no_cut_satisfies_flags_nothing() -> None:
    above_all = np.nextafter(0.95, 1.0)
    # the top 3 scores tie, and 3 alerts are over a budget of 2 (20 % of 10 rows)
    tied_top = np.array([0.95, 0.95, 0.95, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
    budget = TrainConfig(threshold_policy="alert_budget", alert_budget=0.2)
    assert choose_threshold(LABELS, tied_top, budget) == above_all
    # no cut reaches precision 0.95 when the best-scored row is legitimate and all tie
    floor = TrainConfig(threshold_policy="precision", min_precision=0.95)
    assert choose_threshold(LABELS, np.full(10, 0.95), floor) == above_all
    assert choose_threshold(1 - LABELS, SCORES, floor) == above_all  # top rows all legit
    # without any fraud, flagging nothing costs nothing: cheaper than any cut
    assert choose_threshold(np.zeros(10), SCORES, TrainConfig()) == above_all
    # a flagged row needs a score at or above the threshold: none is
    assert not (above_all <= SCORES).any()


def test_unlabelled_rows_stay_in_the_card_histories(train_frame: pd.DataFrame) -> None:
    frame = train_frame.copy()
    legit = np.flatnonzero((frame["is_fraud"] == 0).to_numpy())
    hidden = legit[::3]
    frame.iloc[hidden, frame.columns.get_loc("is_fraud")] = np.nan
    training = training_features(frame)
    assert len(training.features) == len(training.labelled) == len(frame) - len(hidden)
    assert training.labelled[LABEL_COLUMN].notna().all()
    # the labelled rows' features are those computed over every row, as when serving
    ordered = frame.sort_values("event_time", kind="stable")
    every = compute_features(
        ordered, training.reference, label_known=ordered["is_fraud"].notna().to_numpy(),
        label_delay_ms=training.delay_ms,
    )  # fmt: skip
    known = ordered["is_fraud"].notna().to_numpy()
    pd.testing.assert_frame_equal(training.features, every.iloc[np.flatnonzero(known)])
    # and not those of the labelled rows alone, whose card counts miss the hidden rows
    alone = compute_features(ordered[known], training.reference)
    counts = training.features["card_count_7d"].to_numpy()
    assert (counts > alone["card_count_7d"].to_numpy()).any()


def test_metadata_holds_the_validation_pr_curve(bundle: ModelBundle) -> None:
    """About 200 points from recall 1 to 0; their step area is the validation AP."""
    curve = bundle.metadata["pr_curve"]
    precision, recall = np.array(curve["precision"]), np.array(curve["recall"])
    assert 20 < len(recall) == len(precision) <= 202
    assert recall[0] == 1.0 and recall[-1] == 0.0
    assert (np.diff(recall) <= 0).all() and ((precision >= 0) & (precision <= 1)).all()
    area = float(np.sum(-np.diff(recall) * precision[:-1]))
    ap = bundle.metadata["validation_metrics"]["model"]["average_precision"]
    assert abs(area - ap) < 0.03
    assert "pr_curve" not in bundle.metadata["validation_metrics"]["model"]


def test_pr_curve_points_are_thinned_evenly_and_keep_both_ends() -> None:
    rng = np.random.default_rng(0)
    labels = rng.random(20_000) < 0.05
    scores = labels * 0.5 + rng.random(20_000)
    curve = pr_curve_points(labels, scores, points=50)
    recall = np.array(curve["recall"])
    assert len(recall) <= 52 and recall[0] == 1.0 and recall[-1] == 0.0
    assert np.max(-np.diff(recall)) < 0.05  # no big jump: evenly spaced in recall
    assert pr_curve_points(np.zeros(10), np.arange(10.0)) == {"precision": [], "recall": []}
