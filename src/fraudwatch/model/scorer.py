"""Scoring and deciding: calibrated probability, flag at the model's threshold, risk level,
and the top reasons in words (LightGBM feature contributions).

Reasons are computed for the transactions someone will look at — risk MEDIUM and above —
because feature contributions (TreeSHAP) cost far more than a prediction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fraudwatch.features import FEATURES_BY_NAME, OnlineFeatures
from fraudwatch.features.definitions import DEFAULT_LABEL_DELAY_MS
from fraudwatch.model.registry import ModelBundle, load_bundle
from fraudwatch.pipeline.prepare import read_prepared
from fraudwatch.schema import LABEL_COLUMN, SCENARIO_COLUMN

RISK_LEVELS = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
#: Probability from which a flagged transaction is CRITICAL (unless the threshold is higher).
CRITICAL_PROBABILITY = 0.9
#: A transaction is MEDIUM risk from this fraction of the threshold.
MEDIUM_FRACTION = 0.5
SCORE_COLUMNS = ("trans_num", "fraud_probability", "decision", "risk_level", "top_reasons",
                 "baseline_probability", "baseline_decision")  # fmt: skip
DEFAULT_SCORE_CHUNK_ROWS = 50_000


def risk_levels(probability: np.ndarray, threshold: float) -> np.ndarray:
    """LOW / MEDIUM (from half the threshold) / HIGH (flagged) / CRITICAL (very likely)."""
    level = np.zeros(len(probability), dtype=np.int64)
    level[probability >= threshold * MEDIUM_FRACTION] = 1
    level[probability >= threshold] = 2
    level[probability >= max(CRITICAL_PROBABILITY, threshold)] = 3
    return np.asarray(RISK_LEVELS, dtype=object)[level]


class Scorer:
    """Turns feature rows into decisions with the bundle's model and threshold."""

    def __init__(
        self, bundle: ModelBundle, *, reasons: int = 3, threshold: float | None = None
    ) -> None:
        self.bundle = bundle
        self.reasons = reasons
        self.threshold = bundle.model.threshold if threshold is None else threshold

    def score(self, features: pd.DataFrame) -> pd.DataFrame:
        """Probability, baseline probability, decision, risk level and reasons per row."""
        probability = self.bundle.model.probability(features)
        level = risk_levels(probability, self.threshold)
        reasons = np.full(len(features), "", dtype=object)
        explain = np.flatnonzero(level != "LOW")
        if len(explain) and self.reasons:
            reasons[explain] = self.explain(features.iloc[explain])
        baseline = self.bundle.baseline.probability(features)
        return pd.DataFrame(
            {
                "fraud_probability": probability,
                "decision": (probability >= self.threshold).astype(np.int64),
                "risk_level": level,
                "top_reasons": reasons,
                "baseline_probability": baseline,
                "baseline_decision": (baseline >= self.bundle.baseline.threshold).astype(np.int64),
            },
            index=features.index,
        )

    def explain(self, features: pd.DataFrame) -> list[str]:
        """The features that pushed each row's score up most, in words, joined by "; "."""
        columns = self.bundle.model.features
        contributions = np.asarray(
            self.bundle.model.booster.predict(features[columns], pred_contrib=True)
        )
        contributions = contributions[:, : len(columns)]
        records: list[dict[str, float]] = features[columns].to_dict("records")  # type: ignore[assignment]
        texts = []
        for row, values in zip(records, contributions, strict=True):
            top = np.argsort(-values, kind="stable")[: self.reasons]
            words = [
                FEATURES_BY_NAME[columns[i]].reason(row[columns[i]], row)
                for i in top
                if values[i] > 0
            ]
            texts.append("; ".join(words))
        return texts


@dataclass
class ScoreSummary:
    """What a file scoring run did."""

    history_rows: int = 0
    scored: int = 0
    rejected: int = 0
    flagged: int = 0
    seconds: float = 0.0
    warm_seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        """Scoring throughput, history warming excluded."""
        return self.scored / max(self.seconds - self.warm_seconds, 1e-9)


def rejected_path(out: Path) -> Path:
    """Where ``score_file`` sets aside the records it could not score (JSON lines)."""
    return out.with_name(out.stem + ".rejected.jsonl")


def score_file(
    model_dir: Path,
    data: Path,
    out: Path,
    key: bytes,
    *,
    history: Path | None = None,
    chunk_rows: int = DEFAULT_SCORE_CHUNK_ROWS,
    progress: Callable[[str, int], None] | None = None,
) -> ScoreSummary:
    """Score ``data`` in time order through the online path; ``history`` only warms state.

    Labels in ``data`` are dropped before anything sees them, so scores are the same with
    or without an ``is_fraud`` column.
    """
    started = time.perf_counter()
    bundle = load_bundle(model_dir)
    delay = int(bundle.metadata.get("label_delay_ms", DEFAULT_LABEL_DELAY_MS))
    engine = OnlineFeatures(bundle.reference, label_delay_ms=delay)
    scorer = Scorer(bundle)
    summary = ScoreSummary()
    if history is not None:
        for batch in read_prepared(history, key, chunk_rows):
            ordered = batch.transactions.sort_values("event_time", kind="stable")
            engine.transform_many(ordered, labelled=True)
            summary.history_rows += len(ordered)
            if progress:
                progress("warming", len(ordered))
    summary.warm_seconds = time.perf_counter() - started
    out.parent.mkdir(parents=True, exist_ok=True)
    dead_letter = rejected_path(out)
    dead_letter.unlink(missing_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        pd.DataFrame(columns=list(SCORE_COLUMNS)).to_csv(handle, index=False)
        for batch in read_prepared(data, key, chunk_rows):
            summary.rejected += len(batch.rejected)
            if batch.rejected:
                with dead_letter.open("a", encoding="utf-8") as rejects:
                    for rejection in batch.rejected:
                        entry = {"reason": rejection.reason, "record": rejection.record}
                        rejects.write(json.dumps(entry) + "\n")
            ordered = batch.transactions.drop(
                columns=[LABEL_COLUMN, SCENARIO_COLUMN], errors="ignore"
            )
            ordered = ordered.sort_values("event_time", kind="stable")
            features = engine.transform_many(ordered)
            scores = scorer.score(features)
            scores.insert(0, "trans_num", ordered["trans_num"].to_numpy())
            scores[list(SCORE_COLUMNS)].to_csv(
                handle, index=False, header=False, float_format="%.8g"
            )
            summary.scored += len(scores)
            summary.flagged += int(scores["decision"].sum())
            if progress:
                progress("scoring", len(ordered))
    summary.seconds = time.perf_counter() - started
    return summary
