"""The scoring service: prepare → online features → score → decide, shared by every entry.

The streaming pipeline, the scoring API, the live demo, the Airflow tasks and file scoring
(``fraudwatch score``) all score through a :class:`ScoringService`, so a transaction gets
the same features, score and decision (:func:`fraudwatch.decision.decide`) whichever way it
arrived; in one process they share the per-card state (guarded by a lock, since features
must be computed in arrival order), across processes through Redis when configured.

:meth:`ScoringService.score` runs four steps a caller may also run one by one:
:meth:`~ScoringService.prepare` (validate, tokenize), :meth:`~ScoringService.featurize` (the
only step that moves state, under the lock), :meth:`~ScoringService.predict` (the model,
any thread) and :meth:`~ScoringService.decisions` (the rows). File scoring predicts chunk k
on a worker thread while the next chunk's features are computed. The feature state is
saved and restored through :meth:`~ScoringService.snapshot` / :meth:`~ScoringService.restore`
(files: :mod:`fraudwatch.pipeline.snapshots`).
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
from fraudwatch.decision import DECISION_COLUMNS, make_decisions
from fraudwatch.features import OnlineFeatures
from fraudwatch.features.definitions import DEFAULT_LABEL_DELAY_MS
from fraudwatch.features.shared import RedisCardState
from fraudwatch.features.static import event_ms
from fraudwatch.model.registry import ModelBundle, load_bundle
from fraudwatch.model.scorer import Scorer
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


@dataclass
class Prepared:
    """Validated, tokenized records and where each came from (:meth:`ScoringService.prepare`)."""

    transactions: pd.DataFrame | dict[str, np.ndarray]  # a frame, or a few rows as arrays
    positions: np.ndarray  # each valid record's position in ``raw``
    rejected: list[Rejection]
    raw: pd.DataFrame | Sequence[Mapping[str, Any]]  # what event-time rejections show
    index: pd.Index  # the labels of ``raw``'s records

    @classmethod
    def of_frame(cls, transactions: pd.DataFrame, rejected: Sequence[Rejection] = ()) -> Prepared:
        """Records prepared elsewhere (a staged frame, a file chunk): they are their own raw."""
        positions = np.arange(len(transactions))
        return cls(transactions, positions, list(rejected), transactions, transactions.index)


@dataclass
class Featured:
    """A batch past the locked step: accepted rows in event-time order and their features.

    ``features`` is indexed by the input's labels; ``refused``: an all-or-nothing batch
    the stream clock refused (nothing moved, every rejection in ``rejected``).
    """

    transactions: pd.DataFrame | dict[str, np.ndarray]
    positions: np.ndarray
    features: pd.DataFrame
    rejected: list[Rejection]
    refused: bool = False


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
        baseline: bool = False,
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
        # the static-only baseline's columns only for file scoring's evaluation
        self.scorer = Scorer(bundle, threshold=threshold, baseline=baseline)
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
        prepared = self.prepare(raw)
        if all_or_nothing and prepared.rejected:
            return self._nothing_scored(prepared.rejected)
        return self._finish(
            self.featurize(prepared, all_or_nothing), arrived, source, keep_features
        )

    def score_prepared(
        self, transactions: pd.DataFrame, *, source: str, received_at: float | np.ndarray
    ) -> ScoredBatch:
        """:meth:`score` of transactions already validated and tokenized elsewhere.

        The Airflow tasks prepare in the task that fetched the records (card numbers never
        wait on disk) and score in the next one: the same steps from the event-time
        judgement on, under the same lock and card state. A record the stream clock refuses
        comes back in ``rejected``, holding its prepared values (token and masked card).
        """
        return self._finish(
            self.featurize(Prepared.of_frame(transactions)), received_at, source, False
        )

    def prepare(self, raw: pd.DataFrame | Sequence[Mapping[str, Any]]) -> Prepared:
        """Step 1, no state: validate and tokenize (a few plain records as column arrays)."""
        records = raw if isinstance(raw, pd.DataFrame) else list(raw)
        raw_index = (
            records.index if isinstance(records, pd.DataFrame) else pd.RangeIndex(len(records))
        )
        small = _small_records(records)
        prepared_small = None if small is None else prepare_small(small, self.key)
        if prepared_small is not None and len(prepared_small.positions):
            # a few plain records: column arrays, no frame until the decisions
            return Prepared(
                prepared_small.columns, prepared_small.positions, prepared_small.rejected,
                records, raw_index,
            )  # fmt: skip
        prepared = prepare_batch(records, self.key)
        # its labels, if any, never reach the features: transform_many(labelled=False)
        # ignores them (tests hold scores equal without them)
        positions = raw_index.get_indexer(prepared.transactions.index)
        return Prepared(prepared.transactions, positions, prepared.rejected, records, raw_index)

    def featurize(self, prepared: Prepared, all_or_nothing: bool = False) -> Featured:
        """Step 2, under the lock: judge event times, learn due labels, compute features.

        This is the only step that moves state (stream clock, card state — in Redis when
        shared — and the labels learnt), so it runs in arrival order, one batch at a time.
        ``all_or_nothing``: a record refused by the clock refuses the batch (``refused``).
        """
        transactions, positions = prepared.transactions, prepared.positions
        rejected = prepared.rejected
        with self._lock:  # judging moves the stream clock: in arrival order, like features
            clock = self._stream_clock()
            verdict = judge(event_ms(transactions["event_time"]), *clock, self.clock_policy)
            if verdict.errors:
                rejected = sorted(
                    [*rejected, *late_or_early(prepared.raw, positions, verdict.errors)],
                    key=lambda rejection: rejection.position,
                )
                if all_or_nothing:
                    return Featured(transactions, positions[:0], _NO_FEATURES, rejected, True)
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
        features.index = prepared.index[positions]
        return Featured(transactions, positions, features, rejected)

    def predict(self, featured: Featured) -> pd.DataFrame:
        """Step 3, no state (any thread): probability, decision, risk level, reasons per row."""
        return self.scorer.score(featured.features)

    def decisions(
        self,
        featured: Featured,
        scores: pd.DataFrame,
        *,
        source: str,
        received_at: float | np.ndarray,
    ) -> pd.DataFrame:
        """Step 4: the Decision rows (``received_at``: one, or one per input record)."""
        if isinstance(received_at, np.ndarray):  # one arrival time per input record
            received_at = received_at[featured.positions]
        return make_decisions(
            featured.transactions, scores, model_version=self.model_version,
            threshold=self.threshold, received_at=received_at, source=source,
        )  # fmt: skip

    def learn_history(self, transactions: pd.DataFrame) -> int:
        """Fold labelled history (prepared, any order) into the in-process card state.

        Warming before a run (``fraudwatch score --history``, the demo's simulated past):
        the labels are known, so they feed merchant risk, and the stream clock moves to the
        history's newest event. Returns how many rows were folded in.
        """
        ordered = transactions.sort_values("event_time", kind="stable")
        with self._lock:
            self.engine.transform_many(ordered, labelled=True)
        return len(ordered)

    def snapshot(self) -> dict[str, Any]:
        """The feature state (card state, stream clock, labels' position), taken under the lock.

        Picklable; :meth:`restore` takes it back. With the card state in Redis there is
        little to keep (Redis holds the cards), but the value is still valid.
        """
        with self._lock:  # the state must not move while it is copied
            labels = self.labels
            return {
                "engine": self.engine.snapshot(),
                "labels": None if labels is None else labels.state(),
            }

    def restore(self, saved: Mapping[str, Any]) -> None:
        """Continue from a :meth:`snapshot` (one without a labels' position: from the first)."""
        engine = OnlineFeatures.restore(saved["engine"], self.bundle.reference)
        with self._lock:
            self.engine = engine
            if self.labels is not None:
                self.labels.restore(saved.get("labels"))

    def _finish(
        self, featured: Featured, arrived: float | np.ndarray, source: str, keep_features: bool
    ) -> ScoredBatch:
        """Steps 3 and 4 of one batch (nothing to do for a refused one)."""
        if featured.refused:
            return self._nothing_scored(featured.rejected)
        scores = self.predict(featured)
        decisions = self.decisions(featured, scores, source=source, received_at=arrived)
        return ScoredBatch(
            decisions, featured.rejected, featured.features if keep_features else None
        )

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


_NO_FEATURES = pd.DataFrame()


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
