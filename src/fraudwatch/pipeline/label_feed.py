"""Labels reach the features at a recorded stream time, so a replay gives the same decisions.

A label (a chargeback, an analyst's verdict) changes merchant risk. It must do so at a point
of the stream that is written down: otherwise a replay of the same transactions, which
meets the label at another moment, scores them differently. Each label carries
``effective_at`` in the store; the scoring service, before computing a batch's features,
learns every label effective up to the batch's newest event time (in ``(effective_at, id)``
order), and each counts only for transactions strictly after its ``effective_at``
(:func:`fraudwatch.features.late_labels.learn_late_labels`).

A label stored while a batch was already being scored may carry an ``effective_at`` behind
transactions that were scored without it. Such a label is re-stamped, before it is learnt,
with the stream clock it is actually learnt at, and that is what the store keeps: the
recorded time is then the true one, and a replay applies it at the same point.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

import pandas as pd

from fraudwatch.features import OnlineFeatures
from fraudwatch.features.late_labels import learn_late_labels
from fraudwatch.sinks.labels import LabelCursor
from fraudwatch.sinks.store import Store

log = logging.getLogger(__name__)


class LabelFeed:
    """Feeds the store's labels to one feature engine, remembering how far it has read.

    Pending labels (reported before their transaction was stored) are applied at most every
    ``pending_every`` seconds: one write, not one per batch. The labels query itself (a few
    ms) runs only when a label was added since the last one (a primary-key lookup tells)
    or the batch reaches the next label that was still ahead of the stream.
    """

    def __init__(
        self, store: Store, *, pending_every: float = 5.0, pause_after_error: float = 10.0
    ) -> None:
        self.store, self.pending_every = store, pending_every
        self.pause_after_error = pause_after_error
        self._paused_until = -float("inf")
        self.cursor: LabelCursor | None = None
        self.learnt = 0
        self._pending_at = -float("inf")
        self._seen_id = -1  # the newest label id when the labels were last read
        self._next_effective: dt.datetime | None = None  # the first label still ahead

    def learn(self, engine: OnlineFeatures, until: dt.datetime) -> int:
        """Learn the labels effective up to ``until`` that the engine has not learnt yet.

        Never stops scoring: when the store cannot be read, the labels wait (reads pause
        for ``pause_after_error`` seconds) and are learnt later, re-stamped with the clock
        they then take effect at, so the record stays true.
        """
        now = time.monotonic()
        if now < self._paused_until:
            return 0
        try:
            return self._learn(engine, until, now)
        except Exception as error:  # an outage: scoring goes on without new labels
            self._paused_until = now + self.pause_after_error
            log.warning("labels not read (%s); scoring goes on, labels wait", error)
            return 0

    def _learn(self, engine: OnlineFeatures, until: dt.datetime, now: float) -> int:
        if now - self._pending_at >= self.pending_every:
            self._pending_at = now
            self.store.apply_pending_labels()
        newest_id = self.store.newest_label_id()
        waiting = self._next_effective is not None and until >= self._next_effective
        if newest_id == self._seen_id and not waiting:
            return 0
        clock_ms = engine.stream_clock_ms
        learnt = 0
        while True:
            frame, cursor = self.store.labels_for_features(self.cursor, until)
            if frame.empty:
                break
            if clock_ms is not None:
                frame = self._restamp_late(frame, clock_ms)
            learnt += learn_late_labels(engine, frame)
            self.cursor = cursor
        # labels added meanwhile have higher ids than newest_id: the next batch reads them
        self._seen_id = newest_id
        self._next_effective = self.store.next_label_effective_at(until)
        self.learnt += learnt
        return learnt

    def _restamp_late(self, frame: pd.DataFrame, clock_ms: int) -> pd.DataFrame:
        """Labels effective before the engine's clock take effect at the clock instead."""
        clock = pd.Timestamp(clock_ms, unit="ms")
        late = pd.to_datetime(frame["effective_at"]) < clock
        if late.any():
            ids = [int(label_id) for label_id in frame.loc[late, "label_id"]]
            self.store.restamp_labels(ids, clock.to_pydatetime())
            frame = frame.assign(
                effective_at=pd.to_datetime(frame["effective_at"]).where(~late, clock)
            )
            log.debug("%d labels arrived behind the stream: effective from %s", len(ids), clock)
        return frame

    def state(self) -> LabelCursor | None:
        """What to keep with a feature snapshot: the position in the labels."""
        return self.cursor

    def restore(self, cursor: LabelCursor | None) -> None:
        """Continue from a snapshot's position (None: from the first label)."""
        self.cursor, self._seen_id, self._next_effective = cursor, -1, None
