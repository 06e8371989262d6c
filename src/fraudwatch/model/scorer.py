"""Scoring and deciding: calibrated probability, flag at the model's threshold, risk level,
and the top reasons in words (LightGBM feature contributions).

Reasons are computed for the transactions someone will look at (risk MEDIUM and above).
The default explanation is path contributions (:mod:`fraudwatch.model.explain`), cheap
enough for a stream; ``explanation="shap"`` uses LightGBM's TreeSHAP (``pred_contrib``),
about a hundred times slower, for a single transaction under review.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from fraudwatch.features import FEATURES_BY_NAME, OnlineFeatures
from fraudwatch.features.definitions import DEFAULT_LABEL_DELAY_MS
from fraudwatch.frames import frame_from_columns
from fraudwatch.model.explain import PathExplainer
from fraudwatch.model.registry import ModelBundle, feature_matrix, load_bundle, predict_options
from fraudwatch.pipeline.prepare import prefetched, read_prepared
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
        level = risk_levels(probability, self.threshold)
        reasons = np.full(len(features), "", dtype=object)
        explain = np.flatnonzero(np.isin(level, self._explained_levels))
        if len(explain) and self.reasons:
            reasons[explain] = self._explain_rows(matrix[np.ix_(explain, positions[0])])
        scores = {
            "fraud_probability": probability,
            "decision": (probability >= self.threshold).astype(np.int64),
            "risk_level": level,
            "top_reasons": reasons,
        }
        if self.with_baseline:
            baseline_probability = baseline.probability(matrix[:, positions[1]])
            scores["baseline_probability"] = baseline_probability
            scores["baseline_decision"] = (baseline_probability >= baseline.threshold).astype(
                np.int64
            )
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


def _write_csv_rows(frame: pd.DataFrame, handle: TextIO) -> None:
    """Append rows without a header; Arrow's CSV writer is several times faster than pandas'."""
    buffer = io.BytesIO()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
    pa_csv.write_csv(table, buffer, write_options=options)
    handle.write(buffer.getvalue().decode("utf-8"))


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

    Labels in ``data`` are dropped before anything sees them (validation included), so
    scores are the same with or without an ``is_fraud`` column, whatever it holds.
    """
    started = time.perf_counter()
    bundle = load_bundle(model_dir)
    delay = int(bundle.metadata.get("label_delay_ms", DEFAULT_LABEL_DELAY_MS))
    engine = OnlineFeatures(bundle.reference, label_delay_ms=delay)
    scorer = Scorer(bundle)
    summary = ScoreSummary()
    if history is not None:
        for batch in prefetched(read_prepared(history, key, chunk_rows)):
            ordered = batch.transactions.sort_values("event_time", kind="stable")
            engine.transform_many(ordered, labelled=True)
            summary.history_rows += len(ordered)
            if progress:
                progress("warming", len(ordered))
    summary.warm_seconds = time.perf_counter() - started
    out.parent.mkdir(parents=True, exist_ok=True)
    dead_letter = rejected_path(out)
    dead_letter.unlink(missing_ok=True)

    def score_chunk(trans_nums: np.ndarray, features: pd.DataFrame) -> pd.DataFrame:
        scores = scorer.score(features)
        scores.insert(0, "trans_num", trans_nums)
        return scores[list(SCORE_COLUMNS)]

    def write(scores: pd.DataFrame) -> None:
        _write_csv_rows(scores, handle)
        summary.scored += len(scores)
        summary.flagged += int(scores["decision"].sum())
        if progress:
            progress("scoring", len(scores))

    # chunk k is scored on a worker (LightGBM lets go of the GIL) while this thread
    # computes chunk k+1's features: the card state still moves strictly in file order
    with (
        out.open("w", newline="", encoding="utf-8") as handle,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="fraudwatch-score") as pool,
    ):
        pd.DataFrame(columns=list(SCORE_COLUMNS)).to_csv(handle, index=False)
        unlabelled = read_prepared(data, key, chunk_rows, drop=(LABEL_COLUMN, SCENARIO_COLUMN))
        pending: Future[pd.DataFrame] | None = None
        for batch in prefetched(unlabelled):
            summary.rejected += len(batch.rejected)
            if batch.rejected:
                with dead_letter.open("a", encoding="utf-8") as rejects:
                    for rejection in batch.rejected:
                        entry = {"reason": rejection.reason, "record": rejection.record}
                        rejects.write(json.dumps(entry) + "\n")
            ordered = batch.transactions.sort_values("event_time", kind="stable")
            features = engine.transform_many(ordered)
            if pending is not None:
                write(pending.result())
            pending = pool.submit(score_chunk, ordered["trans_num"].to_numpy(), features)
        if pending is not None:
            write(pending.result())
    summary.seconds = time.perf_counter() - started
    return summary
