"""Scoring: calibrated probability, the decision at the model's threshold, and the top
reasons in words (LightGBM feature contributions).

The flag and the risk level come from :func:`fraudwatch.decision.decide`, the one rule every
entry applies; this module only makes the probability and the reasons.

Reasons are computed for the transactions someone will look at (risk MEDIUM and above).
The default explanation is path contributions (:mod:`fraudwatch.model.explain`), cheap
enough for a stream; ``explanation="shap"`` uses LightGBM's TreeSHAP (``pred_contrib``),
about a hundred times slower, for a single transaction under review.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from fraudwatch.decision import RISK_LEVELS, decide, flags
from fraudwatch.features import FEATURES_BY_NAME
from fraudwatch.frames import frame_from_columns
from fraudwatch.model.explain import PathExplainer
from fraudwatch.model.registry import ModelBundle, feature_matrix, predict_options


class Scorer:
    """Turns feature rows into decisions with the bundle's model and threshold."""

    def __init__(
        self,
        bundle: ModelBundle,
        *,
        reasons: int = 3,
        threshold: float | None = None,
        explain_from: str = "MEDIUM",
        explanation: Literal["path", "shap"] = "path",
        baseline: bool = True,
    ) -> None:
        self.bundle = bundle
        self.with_baseline = baseline  # the static-only baseline: for evaluation, not serving
        self.reasons = reasons
        self.threshold = bundle.model.threshold if threshold is None else threshold
        self.explanation = explanation
        self._explained_levels = RISK_LEVELS[RISK_LEVELS.index(explain_from) :]
        self._paths: PathExplainer | None = None
        self._columns: tuple[str, ...] = ()
        self._index: pd.Index | None = None
        self._positions: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.int64),) * 2

    def score(self, features: pd.DataFrame) -> pd.DataFrame:
        """Probability, baseline probability, decision, risk level and reasons per row."""
        matrix, positions = self._matrix(features)
        model, baseline = self.bundle.model, self.bundle.baseline
        probability = model.probability(matrix[:, positions[0]])
        decision, level = decide(probability, self.threshold)
        reasons = np.full(len(features), "", dtype=object)
        explain = np.flatnonzero(np.isin(level, self._explained_levels))
        if len(explain) and self.reasons:
            reasons[explain] = self._explain_rows(matrix[np.ix_(explain, positions[0])])
        scores = {
            "fraud_probability": probability,
            "decision": decision,
            "risk_level": level,
            "top_reasons": reasons,
        }
        if self.with_baseline:
            baseline_probability = baseline.probability(matrix[:, positions[1]])
            scores["baseline_probability"] = baseline_probability
            scores["baseline_decision"] = flags(baseline_probability, baseline.threshold)
        return frame_from_columns(scores, features.index)

    def _matrix(self, features: pd.DataFrame) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """The frame as one float64 matrix, and where the model's and baseline's columns are.

        One conversion serves both learners and the explanation (a frame of float columns
        is one block, so this is a view, not a copy).
        """
        if features.columns is self._index:  # the same column labels as last time (usual)
            return np.asarray(features.to_numpy(dtype=np.float64)), self._positions
        self._index = features.columns
        columns = tuple(features.columns)
        if columns != self._columns:
            where = {name: number for number, name in enumerate(columns)}
            self._positions = tuple(
                np.array([where[name] for name in learner.features], dtype=np.int64)
                for learner in (self.bundle.model, self.bundle.baseline)
            )  # type: ignore[assignment]
            self._columns = columns
        return np.asarray(features.to_numpy(dtype=np.float64)), self._positions

    def explain(self, features: pd.DataFrame) -> list[str]:
        """The features that pushed each row's score up most, in words, joined by "; "."""
        return self._explain_rows(feature_matrix(features, self.bundle.model))

    def _explain_rows(self, matrix: np.ndarray) -> list[str]:
        """:meth:`explain` of a matrix whose columns are the model's features, in order."""
        columns = self.bundle.model.features
        contributions = self.contributions(matrix)
        texts = []
        for values, row_values in zip(contributions, matrix.tolist(), strict=True):
            row = dict(zip(columns, row_values, strict=True))
            top = np.argsort(-values, kind="stable")[: self.reasons]
            words = [
                FEATURES_BY_NAME[columns[i]].reason(row[columns[i]], row)
                for i in top
                if values[i] > 0
            ]
            texts.append("; ".join(words))
        return texts

    def contributions(self, features: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Each feature's push on each row's raw score (columns: the model's features)."""
        model = self.bundle.model
        matrix = features if isinstance(features, np.ndarray) else feature_matrix(features, model)
        if self.explanation == "shap":
            values = model.booster.predict(
                matrix, pred_contrib=True, **predict_options(len(matrix))
            )
            return np.asarray(values)[:, : len(model.features)]
        if self._paths is None:
            self._paths = PathExplainer(model.booster, model.features)
        return self._paths.contributions(matrix)
