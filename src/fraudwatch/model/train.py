"""Training: LightGBM on past-only features, validated on the last slice of time.

The training period is split by time — the last ``validation_fraction`` of it validates —
never at random, which would leak fraud bursts across the split. Classes are weighted
(no resampling), boosting stops early on validation average precision, probabilities are
calibrated on validation (Platt scaling: monotone, so ranking and AP are unchanged), and
the decision threshold is chosen on validation by a stated policy.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from fraudwatch.decision import flags
from fraudwatch.errors import FraudwatchError
from fraudwatch.features import (
    CATEGORICAL_FEATURES,
    FEATURE_NAMES,
    STATIC_FEATURE_NAMES,
    FeatureReference,
    compute_features,
)
from fraudwatch.features.definitions import MS_PER_DAY
from fraudwatch.model import metrics
from fraudwatch.model.registry import Calibration, ModelBundle, ScoringModel, library_versions
from fraudwatch.schema import LABEL_COLUMN

log = logging.getLogger("fraudwatch.model")
Progress = Callable[[str, int, int | None], None]
ThresholdPolicy = Literal["cost", "alert_budget", "precision"]


@dataclass(frozen=True)
class TrainConfig:
    """Every choice of a training run; saved in the model's metadata."""

    validation_fraction: float = 0.2
    learning_rate: float = 0.1
    num_leaves: int = 63
    min_child_samples: int = 100
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    #: Regularisation that keeps leaf values finite on rare positives; without it boosting
    #: pushes margins past float precision, probabilities tie at 1.0 and AP collapses.
    l2_regularisation: float = 10.0
    min_hessian_in_leaf: float = 1.0
    max_delta_step: float = 2.0
    max_rounds: int = 1000
    early_stopping_rounds: int = 50
    positive_weight: float = 5.0
    threshold_policy: ThresholdPolicy = "cost"
    false_positive_cost: float = 1.0
    false_negative_cost: float = 5.0
    alert_budget: float = 0.005
    min_precision: float = 0.95
    label_delay_days: float = 7.0
    seed: int = 42
    threads: int = 0

    def __post_init__(self) -> None:
        if not 0.05 <= self.validation_fraction <= 0.5:
            raise ValueError("validation_fraction must lie in [0.05, 0.5]")
        if self.threshold_policy not in ("cost", "alert_budget", "precision"):
            raise ValueError("threshold_policy must be cost, alert_budget or precision")


class TrainingDataError(FraudwatchError, ValueError):
    """The training data cannot train a model (too small, no fraud in a split, no labels)."""


def choose_threshold(labels: np.ndarray, probabilities: np.ndarray, config: TrainConfig) -> float:
    """The decision threshold on validation, by the configured policy.

    ``cost``: minimise false-positive cost × FP + false-negative cost × FN;
    ``alert_budget``: flag at most ``alert_budget`` of transactions;
    ``precision``: the most recall whose precision is still >= ``min_precision``.
    Flagging nothing is one of the choices: when it is the cheapest, or when no cut between
    distinct scores keeps to the budget or the precision floor, the threshold lies just
    above the highest score.
    """
    y = np.asarray(labels, dtype=bool)
    order = np.argsort(-probabilities, kind="stable")
    sorted_p, sorted_y = probabilities[order], y[order]
    flag_nothing = float(np.nextafter(sorted_p[0], np.inf))
    true_pos = np.cumsum(sorted_y)
    flagged = np.arange(1, len(sorted_y) + 1)
    # only cut between distinct scores: flagging k rows means threshold = k-th score
    distinct = np.append(sorted_p[1:] != sorted_p[:-1], True)
    if config.threshold_policy == "cost":
        false_pos = flagged - true_pos
        false_neg = y.sum() - true_pos
        cost = config.false_positive_cost * false_pos + config.false_negative_cost * false_neg
        cost = np.where(distinct, cost, np.inf)
        best = int(np.argmin(cost))
        nothing_cost = config.false_negative_cost * y.sum()
        return flag_nothing if nothing_cost < cost[best] else float(sorted_p[best])
    if config.threshold_policy == "alert_budget":
        budget = max(1, math.floor(config.alert_budget * len(sorted_p)))
        candidates = np.flatnonzero(distinct[:budget])
        return float(sorted_p[candidates[-1]]) if len(candidates) else flag_nothing
    precision = true_pos / flagged
    good = np.flatnonzero(distinct & (precision >= config.min_precision))
    return float(sorted_p[good[-1]]) if len(good) else flag_nothing


def _fit_learner(
    features: pd.DataFrame, labels: np.ndarray, is_validation: np.ndarray, columns: list[str],
    config: TrainConfig, progress: Progress | None, name: str,
) -> tuple[ScoringModel, dict[str, Any]]:  # fmt: skip
    """Boost with early stopping on validation AP, calibrate, choose the threshold."""
    params = {
        "objective": "binary", "metric": "average_precision", "learning_rate": config.learning_rate,
        "num_leaves": config.num_leaves, "min_child_samples": config.min_child_samples,
        "feature_fraction": config.feature_fraction, "bagging_fraction": config.bagging_fraction,
        "bagging_freq": 1, "scale_pos_weight": config.positive_weight, "seed": config.seed,
        "lambda_l2": config.l2_regularisation, "max_delta_step": config.max_delta_step,
        "min_sum_hessian_in_leaf": config.min_hessian_in_leaf,
        "num_threads": config.threads, "verbose": -1, "deterministic": True,
    }  # fmt: skip
    categorical = [c for c in CATEGORICAL_FEATURES if c in columns]
    fit_set = lgb.Dataset(features.loc[~is_validation, columns], labels[~is_validation],
                          categorical_feature=categorical, free_raw_data=True)  # fmt: skip
    valid_set = lgb.Dataset(
        features.loc[is_validation, columns], labels[is_validation], reference=fit_set
    )

    def report(env: lgb.callback.CallbackEnv) -> None:
        if progress is not None:
            progress(f"training {name}", env.iteration + 1, config.max_rounds)

    booster = lgb.train(
        params, fit_set, num_boost_round=config.max_rounds, valid_sets=[valid_set],
        callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False), report],
    )  # fmt: skip
    booster.free_dataset()
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))
    margin = np.asarray(booster.predict(features.loc[is_validation, columns], raw_score=True))
    y_valid = labels[is_validation]
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(margin.reshape(-1, 1), y_valid)
    calibration = Calibration(float(platt.coef_[0, 0]), float(platt.intercept_[0]))
    probability = calibration.apply(margin)
    threshold = choose_threshold(y_valid, probability, config)
    flagged = flags(probability, threshold).astype(bool)  # the one flag rule
    if not flagged.any():
        log.warning(
            "the %s threshold policy flags no validation transaction for the %s; "
            "check its settings (alert budget, precision floor, costs)",
            config.threshold_policy, name,
        )  # fmt: skip
    validation = {
        "pr_curve": metrics.pr_curve_points(y_valid, probability),
        "average_precision": metrics.average_precision(y_valid, probability),
        "roc_auc": metrics.roc_auc(y_valid, probability),
        **metrics.precision_recall_f1(y_valid, flagged),
        "best_iteration": booster.num_trees(),
    }
    return ScoringModel(booster, columns, calibration, threshold), validation


def _data_hash(transactions: pd.DataFrame) -> str:
    """SHA-256 over the training rows' ids, times, amounts and labels (order-independent)."""
    digest = hashlib.sha256()
    ordered = transactions.sort_values(["event_time", "trans_num"], kind="stable")
    for column in ("trans_num", "event_time", "amt", LABEL_COLUMN):
        digest.update(pd.util.hash_pandas_object(ordered[column], index=False).to_numpy().tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class TrainingFeatures:
    """The labelled rows of a training set, their features and the temporal split."""

    labelled: pd.DataFrame
    features: pd.DataFrame
    labels: np.ndarray
    is_validation: np.ndarray
    validation_start: pd.Timestamp
    reference: FeatureReference
    delay_ms: int


def training_features(
    transactions: pd.DataFrame, config: TrainConfig = TrainConfig()
) -> TrainingFeatures:
    """Features of the labelled rows, computed over *every* row, and the validation split.

    Unlabelled rows are not learnt from, but they stay in the card histories (as they
    do when serving), so a card's counts and totals mean the same in training and live.
    """
    ordered = transactions.sort_values("event_time", kind="stable")
    known = ordered[LABEL_COLUMN].notna().to_numpy()
    labelled = ordered[known]
    if len(labelled) < 1000:
        raise TrainingDataError(f"need at least 1,000 labelled transactions, got {len(labelled):,}")
    labels = labelled[LABEL_COLUMN].to_numpy(dtype=np.int64)
    times = labelled["event_time"]
    cut = times.min() + (times.max() - times.min()) * (1 - config.validation_fraction)
    is_validation = (times >= cut).to_numpy()
    for part, mask in (("training", ~is_validation), ("validation", is_validation)):
        if labels[mask].sum() < 5:
            raise TrainingDataError(f"the {part} slice has fewer than 5 frauds; use more data")
    reference = FeatureReference.fit(labelled.loc[~is_validation])
    delay_ms = int(config.label_delay_days * MS_PER_DAY)
    every = compute_features(ordered, reference, label_known=known, label_delay_ms=delay_ms)
    features = every.iloc[np.flatnonzero(known)] if not known.all() else every
    return TrainingFeatures(labelled, features, labels, is_validation, cut, reference, delay_ms)


def train_model(
    transactions: pd.DataFrame,
    config: TrainConfig = TrainConfig(),
    progress: Progress | None = None,
) -> ModelBundle:
    """Train the model and its static-only baseline on prepared, labelled transactions."""
    started = time.perf_counter()
    if progress:
        progress("computing features", 0, None)
    training = training_features(transactions, config)
    features, labels, is_validation = training.features, training.labels, training.is_validation
    times = training.labelled["event_time"]
    model, model_validation = _fit_learner(
        features, labels, is_validation, list(FEATURE_NAMES), config, progress, "model"
    )
    baseline, baseline_validation = _fit_learner(
        features, labels, is_validation, list(STATIC_FEATURE_NAMES), config, progress, "baseline"
    )
    baseline_validation.pop("pr_curve")
    data_hash = _data_hash(training.labelled)
    created = datetime.now(UTC)
    metadata = {
        "version": f"fw-{created:%Y%m%dT%H%M%S}-{data_hash[:8]}",
        "created_at": created.isoformat(timespec="seconds"),
        "feature_names": list(FEATURE_NAMES),
        "static_feature_names": list(STATIC_FEATURE_NAMES),
        "training_window": {
            "start": str(times.min()),
            "end": str(times.max()),
            "validation_start": str(training.validation_start),
        },
        "rows": {
            "training": int((~is_validation).sum()),
            "validation": int(is_validation.sum()),
            "frauds_training": int(labels[~is_validation].sum()),
            "frauds_validation": int(labels[is_validation].sum()),
        },
        # the validation PR curve of the model (≤ 200 points), for the dashboard's model page
        "pr_curve": model_validation.pop("pr_curve"),
        "validation_metrics": {"model": model_validation, "baseline": baseline_validation},
        "threshold": model.threshold,
        "threshold_policy": config.threshold_policy,
        "label_delay_ms": training.delay_ms,
        "config": asdict(config),
        "data_hash": data_hash,
        "libraries": library_versions(),
        "training_seconds": round(time.perf_counter() - started, 1),
    }
    return ModelBundle(
        model=model, baseline=baseline, reference=training.reference, metadata=metadata
    )


def default_model_dir(data_dir: Path, version: str) -> Path:
    """Where a model goes when no folder is given: ``models/<version>`` in the data folder."""
    return data_dir / "models" / version
