"""The scoring service: prepare → online features → score → decide, shared by every entry.

The streaming pipeline, the scoring API and the live demo all hold one
:class:`ScoringService`, so a transaction gets the same features and the same score
whichever way it arrived; in one process they share the per-card state (guarded by a lock,
since features must be computed in arrival order).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fraudwatch import schema
from fraudwatch.config import get_settings
from fraudwatch.features import OnlineFeatures
from fraudwatch.features.definitions import DEFAULT_LABEL_DELAY_MS
from fraudwatch.features.shared import RedisCardState
from fraudwatch.features.static import event_ms
from fraudwatch.model.registry import ModelBundle, load_bundle
from fraudwatch.model.scorer import Scorer
from fraudwatch.pipeline.decision import DECISION_COLUMNS, make_decisions
from fraudwatch.pipeline.event_clock import ClockPolicy, ClockVerdict, judge
from fraudwatch.pipeline.label_feed import LabelFeed
from fraudwatch.pipeline.prepare import late_or_early, prepare_batch, prepare_small
from fraudwatch.schema import Rejection


@dataclass
class ScoredBatch:
    """Decisions for the valid records of a batch, and the rejected ones with reasons."""

    decisions: pd.DataFrame
    rejected: list[Rejection] = field(default_factory=list)
    features: pd.DataFrame | None = None


class ScoringService:
    """One model, one per-card state and stream clock: raw records in, Decision rows out.

    ``clock_policy`` (default: the settings' ``max_event_skew`` / ``max_event_age``) says
    how far an event time may stray from the stream clock, kept with the card state.
    """

    def __init__(
        self,
        bundle: ModelBundle,
        key: bytes,
        *,
        threshold: float | None = None,
        shared: RedisCardState | None = None,
        clock_policy: ClockPolicy | None = None,
    ) -> None:
        self.bundle = bundle
        if clock_policy is None:  # FRAUDWATCH_MAX_EVENT_SKEW / _AGE
            settings = get_settings()
            clock_policy = ClockPolicy.from_seconds(settings.max_event_skew, settings.max_event_age)
        self.clock_policy = clock_policy
        self.shared = shared  # card state in Redis (shared by processes), else in memory
        self.key = key
        delay = int(bundle.metadata.get("label_delay_ms", DEFAULT_LABEL_DELAY_MS))
        self.engine = OnlineFeatures(bundle.reference, label_delay_ms=delay)
        self.scorer = Scorer(bundle, threshold=threshold, baseline=False)
        self._lock = threading.Lock()
        self.scored = 0
        #: where stored labels come from (None: labels never reach the features); see
        #: :mod:`fraudwatch.pipeline.label_feed`
        self.labels: LabelFeed | None = None

    @property
    def stream_time(self) -> dt.datetime | None:
        """The stream clock (newest event time accepted) as naive UTC; None before any."""
        clock_ms = self.engine.stream_clock_ms
        return None if clock_ms is None else _naive_utc(clock_ms)

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
        all_or_nothing: bool = False,
    ) -> ScoredBatch:
        """Validate, tokenize, judge event times, compute features in time order, score, decide.

        Labels in the batch are dropped before features see them: live scoring is
        label-free. ``received_at`` (epoch seconds, one or one per raw record) starts the
        latency clock; default now. A record whose event time is out of the stream clock's
        window (:mod:`fraudwatch.pipeline.event_clock`) is rejected like a malformed one.
        ``all_or_nothing``: if any record is rejected, none is scored and no state moves.
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
        else:
            prepared = prepare_batch(records, self.key)
            transactions, rejected = prepared.transactions, prepared.rejected
            # its labels, if any, never reach the features: transform_many(labelled=False)
            # ignores them (tests hold scores equal without them)
            positions = raw_index.get_indexer(transactions.index)
        if all_or_nothing and rejected:
            return self._nothing_scored(rejected)
        with self._lock:  # judging moves the stream clock: in arrival order, like features
            clock = self._stream_clock()
            verdict = judge(event_ms(transactions["event_time"]), *clock, self.clock_policy)
            if verdict.errors:
                rejected = sorted(
                    [*rejected, *late_or_early(records, positions, verdict.errors)],
                    key=lambda rejection: rejection.position,
                )
                if all_or_nothing:
                    return self._nothing_scored(rejected)
                transactions, positions = _kept(transactions, positions, verdict.accepted)
            transactions, positions = _in_time_order(transactions, positions)
            if self.labels is not None and len(positions):
                newest_ms = int(event_ms(transactions["event_time"]).max())
                self.labels.learn(self.engine, _naive_utc(newest_ms))
            if self.shared is None:
                features = self.engine.transform_many(transactions)
            else:
                features = self.shared.transform_many(self.engine, transactions)
                self.shared.write_clock(verdict.clock_ms, moved_back=_moved_back(clock, verdict))
            self.engine.set_stream_clock(verdict.clock_ms, verdict.run)
            self.scored += len(positions)
        # each row's label in the input (its position for a list)
        features.index = raw_index[positions]
        if isinstance(arrived, np.ndarray):  # one arrival time per raw record, by position
            arrived = arrived[positions]
        scores = self.scorer.score(features)
        decisions = make_decisions(
            transactions, scores, model_version=self.model_version, threshold=self.threshold,
            received_at=arrived, source=source,
        )  # fmt: skip
        return ScoredBatch(decisions, rejected, features if keep_features else None)

    def _stream_clock(self) -> tuple[int | None, list[int]]:
        """The stream clock and its pending run; with Redis, the clock all processes share."""
        clock = self.engine.stream_clock_ms
        if self.shared is not None:
            shared = self.shared.read_clock()
            clock = clock if shared is None else shared
        return clock, self.engine.clock_run

    @staticmethod
    def _nothing_scored(rejected: list[Rejection]) -> ScoredBatch:
        """The answer to an all-or-nothing batch with rejections: no decision at all."""
        return ScoredBatch(pd.DataFrame({name: [] for name in DECISION_COLUMNS}), rejected)


def _moved_back(clock: tuple[int | None, list[int]], verdict: ClockVerdict) -> bool:
    """Whether the verdict set the clock earlier than it was (a re-anchor to the past)."""
    before = clock[0]
    return before is not None and verdict.clock_ms is not None and verdict.clock_ms < before


def _kept(
    transactions: pd.DataFrame | dict[str, np.ndarray], positions: np.ndarray, keep: np.ndarray
) -> tuple[pd.DataFrame | dict[str, np.ndarray], np.ndarray]:
    """The accepted rows only (a boolean mask in input order)."""
    if isinstance(transactions, pd.DataFrame):
        return transactions[keep], positions[keep]
    return {name: values[keep] for name, values in transactions.items()}, positions[keep]


def _in_time_order(
    transactions: pd.DataFrame | dict[str, np.ndarray], positions: np.ndarray
) -> tuple[pd.DataFrame | dict[str, np.ndarray], np.ndarray]:
    """Rows sorted by event time (stable), as features require; as they are when sorted."""
    times = np.asarray(event_ms(transactions["event_time"]))
    if len(times) < 2 or (times[1:] >= times[:-1]).all():
        return transactions, positions
    order = np.argsort(times, kind="stable")
    if isinstance(transactions, pd.DataFrame):
        return transactions.iloc[order], positions[order]
    return {name: values[order] for name, values in transactions.items()}, positions[order]


def _small_records(
    records: pd.DataFrame | list[Mapping[str, Any]],
) -> list[dict[str, Any]] | None:
    """The records as plain dicts when the batch can take the column-array path, else None."""
    if isinstance(records, pd.DataFrame):
        if not schema.is_small(len(records)):
            return None
        return schema.frame_records(records)
    if not records or not schema.eligible(records):
        return None
    return records  # type: ignore[return-value]  # eligible: plain dicts


def _naive_utc(epoch_ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch_ms / 1000, dt.UTC).replace(tzinfo=None)
