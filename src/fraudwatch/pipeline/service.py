"""The scoring service: prepare → online features → score → decide, shared by every entry.

The streaming pipeline, the scoring API and the live demo all hold one
:class:`ScoringService`, so a transaction gets the same features and the same score
whichever way it arrived; in one process they share the per-card state (guarded by a lock,
since features must be computed in arrival order).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fraudwatch import schema_scalar
from fraudwatch.features import OnlineFeatures
from fraudwatch.features.definitions import DEFAULT_LABEL_DELAY_MS
from fraudwatch.features.kernel import SMALL_BATCH_ROWS
from fraudwatch.features.shared import RedisCardState
from fraudwatch.model.registry import ModelBundle, load_bundle
from fraudwatch.model.scorer import Scorer
from fraudwatch.pipeline.decision import make_decisions
from fraudwatch.pipeline.prepare import prepare_batch, prepare_small
from fraudwatch.schema import Rejection


@dataclass
class ScoredBatch:
    """Decisions for the valid records of a batch, and the rejected ones with reasons."""

    decisions: pd.DataFrame
    rejected: list[Rejection] = field(default_factory=list)
    features: pd.DataFrame | None = None


class ScoringService:
    """One model, one per-card state: raw records in, Decision rows out."""

    def __init__(
        self,
        bundle: ModelBundle,
        key: bytes,
        *,
        threshold: float | None = None,
        shared: RedisCardState | None = None,
    ) -> None:
        self.bundle = bundle
        self.shared = shared  # card state in Redis (shared by processes), else in memory
        self.key = key
        delay = int(bundle.metadata.get("label_delay_ms", DEFAULT_LABEL_DELAY_MS))
        self.engine = OnlineFeatures(bundle.reference, label_delay_ms=delay)
        self.scorer = Scorer(bundle, threshold=threshold, baseline=False)
        self._lock = threading.Lock()
        self.scored = 0

    @classmethod
    def from_model_dir(
        cls, model_dir: Path, key: bytes, *, redis_url: str | None = None
    ) -> ScoringService:
        """A service for the model saved in ``model_dir`` (card state in Redis if a URL)."""
        shared = RedisCardState(redis_url) if redis_url else None
        return cls(load_bundle(model_dir), key, shared=shared)

    def warm_up(self) -> None:
        """Build now what scoring would build on first use, off a transaction's clock.

        The reasons' explainer is made from the model's tree dump when the first
        transaction needs reasons (~120 ms): the first flagged transaction of a run
        waited for it, and so did every transaction queued behind it. Explaining one row
        of zeros builds it; no card state is touched.
        """
        width = len(self.bundle.model.features)
        self.scorer.contributions(np.zeros((1, width), dtype=np.float64))

    @property
    def model_version(self) -> str:
        """Version id of the model in use."""
        return self.bundle.version

    @property
    def threshold(self) -> float:
        """The decision threshold in use."""
        return self.scorer.threshold

    def score(
        self,
        raw: pd.DataFrame | Sequence[Mapping[str, Any]],
        *,
        source: str,
        received_at: float | np.ndarray | None = None,
        keep_features: bool = False,
    ) -> ScoredBatch:
        """Validate, tokenize, compute features in time order, score and decide a batch.

        Labels in the batch are dropped before features see them: live scoring is
        label-free. ``received_at`` (epoch seconds, one or one per raw record) starts the
        latency clock; default now.
        """
        arrived = time.time() if received_at is None else received_at
        records = raw if isinstance(raw, pd.DataFrame) else list(raw)
        small = _small_records(records)
        raw_index = (
            records.index if isinstance(records, pd.DataFrame) else pd.RangeIndex(len(records))
        )
        transactions: pd.DataFrame | dict[str, np.ndarray]
        prepared_small = None if small is None else prepare_small(small, self.key)
        if prepared_small is not None and len(prepared_small.positions):
            # a few plain records: column arrays, no frame until the decisions
            transactions, positions = prepared_small.columns, prepared_small.positions
            rejected = prepared_small.rejected
            times = transactions["event_time"]
            if len(times) > 1 and not (times[1:] >= times[:-1]).all():
                order = np.argsort(times, kind="stable")
                transactions = {name: values[order] for name, values in transactions.items()}
                positions = positions[order]
            index = raw_index[positions]
        else:
            prepared = prepare_batch(records, self.key)
            transactions, rejected = prepared.transactions, prepared.rejected
            # its labels, if any, never reach the features: transform_many(labelled=False)
            # ignores them (tests hold scores equal without them)
            times = transactions["event_time"].to_numpy()
            if len(times) > 1 and not (times[1:] >= times[:-1]).all():
                transactions = transactions.iloc[np.argsort(times, kind="stable")]
            index = transactions.index
            positions = raw_index.get_indexer(index)
        if isinstance(arrived, np.ndarray):  # one arrival time per raw record, by position
            arrived = arrived[positions]
        with self._lock:
            if self.shared is None:
                features = self.engine.transform_many(transactions)
            else:
                features = self.shared.transform_many(self.engine, transactions)
            self.scored += len(index)
        features.index = index  # each row's label in the input (its position for a list)
        scores = self.scorer.score(features)
        decisions = make_decisions(
            transactions, scores, model_version=self.model_version, threshold=self.threshold,
            received_at=arrived, source=source,
        )  # fmt: skip
        return ScoredBatch(decisions, rejected, features if keep_features else None)


def _small_records(
    records: pd.DataFrame | list[Mapping[str, Any]],
) -> list[dict[str, Any]] | None:
    """The records as plain dicts when the batch can take the column-array path, else None."""
    if isinstance(records, pd.DataFrame):
        if len(records) >= SMALL_BATCH_ROWS:
            return None
        return schema_scalar.frame_records(records)
    if not records or not schema_scalar.eligible(records):
        return None
    return records  # type: ignore[return-value]  # eligible: plain dicts
