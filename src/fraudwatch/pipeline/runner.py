"""The streaming pipeline: input → micro-batches → score → store (+ hooks), resumable.

Records are gathered into micro-batches (up to ``max_batch`` records, or ``max_wait``
seconds after the first one, or as soon as the input goes quiet). Each batch's decisions,
its dead letters and the input position after it are written in ONE database
transaction, so after a crash — even ``kill -9`` — the run resumes from the last stored
position; rows of a batch that was in flight are simply scored again and upserted by
``trans_num``, so every transaction is stored exactly once. The per-card feature state is
snapshotted with its position (periodically and on a graceful stop), so a restart also
resumes the card histories; without a snapshot it starts cold.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fraudwatch.pipeline.inputs import Arrival, Input
from fraudwatch.pipeline.label_feed import LabelFeed
from fraudwatch.pipeline.prepare import prefetched
from fraudwatch.pipeline.service import ScoringService
from fraudwatch.pipeline.snapshots import state_file, usable_snapshot, write_snapshot
from fraudwatch.pipeline.writer import BatchWriter, Hook
from fraudwatch.sinks.status import FAILED, FINISHED, RUNNING, STOPPED, Heartbeat
from fraudwatch.sinks.store import DeadLetter, Store, dead_letters

log = logging.getLogger(__name__)
#: Batches of at most this many rows are committed by the pipeline's own thread (SQLite).
INLINE_WRITE_ROWS = 64


@dataclass
class RunSummary:
    """What a pipeline run did."""

    read: int = 0
    scored: int = 0
    rejected: int = 0
    flagged: int = 0
    batches: int = 0
    seconds: float = 0.0
    resumed_from: str | None = None

    @property
    def per_second(self) -> float:
        """Records read per second of wall time."""
        return self.read / max(self.seconds, 1e-9)

    def line(self) -> str:
        """A one-line report for logs and the terminal."""
        return (
            f"read {self.read:,}, scored {self.scored:,} ({self.flagged:,} flagged), rejected "
            f"{self.rejected:,} in {self.batches:,} batches, {self.seconds:.1f} s "
            f"({self.per_second:,.0f} tx/s)"
        )


class Runner:
    """Drives one input through the scoring service into the store.

    ``freeze_gc`` freezes the process's long-lived objects when the run starts (see
    :func:`freeze_long_lived`); on SQLite, batches of at most ``inline_rows`` rows are
    committed by the runner's own thread rather than the writer thread (see
    :class:`~fraudwatch.pipeline.writer.BatchWriter`).
    """

    def __init__(
        self,
        service: ScoringService,
        store: Store,
        source: Input,
        *,
        max_batch: int = 1000,
        max_wait: float = 0.02,
        hooks: Sequence[Hook] = (),
        state_dir: Path | None = None,
        snapshot_every: float = 60.0,
        log_every: float = 5.0,
        freeze_gc: bool = True,
        inline_rows: int = INLINE_WRITE_ROWS,
    ) -> None:
        self.service, self.store, self.source = service, store, source
        if service.labels is None:  # stored labels reach the features at recorded times
            service.labels = LabelFeed(store)
        self.freeze_gc = freeze_gc
        # SQLite is in-process: a small batch is cheaper to commit than to hand to a thread
        self.inline_rows = inline_rows if store.backend == "sqlite" else 0
        self.max_batch, self.max_wait = max_batch, max_wait
        self.hooks = list(hooks)
        self.state_file = None
        if state_dir is not None and service.shared is None:  # shared: the state is in Redis
            self.state_file = state_file(state_dir, source.source_id)
        self.snapshot_every, self.log_every = snapshot_every, log_every
        self.summary = RunSummary()
        self._pending: list[Arrival] = []
        self._position: str | None = None
        self.heartbeat = Heartbeat(
            store,
            f"pipeline {source.source_id}",
            "pipeline",
            clock_speed=getattr(source, "speed", None),
        )

    def run(self, stop: threading.Event | None = None) -> RunSummary:
        """Process the input until it ends or ``stop`` is set; flush what is pending.

        The run's state goes to the store's status table as it changes and every few
        seconds; an error that stops the run is written there (``failed``, with its
        message) before it propagates, so the dashboard and ``/ready`` show it.
        """
        stop = stop or threading.Event()
        self._beat(RUNNING, force=True)
        try:
            summary = self._run(stop)
        except BaseException as error:
            self._salvage()
            self._beat(FAILED, detail=f"{type(error).__name__}: {error}", force=True)
            raise
        self._beat(STOPPED if stop.is_set() else FINISHED, force=True)
        return summary

    def _salvage(self) -> None:
        """After a failure: store what arrived before it (if the store can), stop the writer."""
        writer: BatchWriter | None = getattr(self, "_writer", None)
        if writer is None:
            return
        try:
            self._flush()
            writer.close()
        except Exception as error:  # the original error is the one to report
            log.error("could not store the records pending at the failure: %s", error)

    @property
    def stream_time(self) -> dt.datetime | None:
        """The stream clock: the scoring service's newest accepted event time, naive UTC."""
        return self.service.stream_time

    def _beat(self, state: str, *, detail: str | None = None, force: bool = False) -> None:
        stream_time = self.stream_time
        processed = self.summary.scored + self.summary.rejected
        self.heartbeat.beat(
            state, detail=detail, stream_time=stream_time, processed=processed, force=force
        )

    def _run(self, stop: threading.Event) -> RunSummary:
        started = time.perf_counter()
        start_position = self._resume()
        self.service.warm_up()
        if self.freeze_gc:
            freeze_long_lived()
        self._writer = BatchWriter.exactly_once(
            self.store, self.hooks, inline_rows=self.inline_rows
        )
        self._position = start_position
        self.summary.resumed_from = start_position
        first_pending = last_log = last_snapshot = time.monotonic()
        arrivals = self.source.arrivals(start_position, stop)
        if getattr(self.source, "rate", 0.0) is None:  # replay flat out: read ahead in a thread
            arrivals = prefetched(arrivals, depth=2)
        for arrival in arrivals:
            if len(arrival.records):
                if not self._pending:
                    first_pending = time.monotonic()
                self._pending.append(arrival)
            elif arrival.position is not None and not self._pending:
                self._position = arrival.position
            if arrival.position is not None:
                self._position = arrival.position
            rows = sum(len(a.records) for a in self._pending)
            now = time.monotonic()
            idle = not len(arrival.records)
            if self._pending and (
                rows >= self.max_batch or idle or now - first_pending >= self.max_wait
            ):
                self._flush()
            self.summary.seconds = time.perf_counter() - started
            self._beat(RUNNING)
            if now - last_log >= self.log_every:
                self.summary.seconds = time.perf_counter() - started
                log.info("pipeline %s: %s", self.source.kind, self.summary.line())
                last_log = now
            if (
                self.state_file is not None
                and now - last_snapshot >= self.snapshot_every
                and not self._pending
            ):
                self._snapshot()
                last_snapshot = now
            if stop.is_set():
                break
        self._flush()
        self._writer.close()
        if self.state_file is not None:
            self._snapshot()
        self.summary.seconds = time.perf_counter() - started
        log.info("pipeline %s finished: %s", self.source.kind, self.summary.line())
        return self.summary

    def _flush(self) -> None:
        """Score and store what is pending, in slices of at most ``max_batch`` records."""
        if not self._pending:
            return
        if len(self._pending) == 1:  # the usual case at a steady rate: no concatenation
            records = self._pending[0].records.reset_index(drop=True)
            received = self._pending[0].received_at
        else:
            records = pd.concat([a.records for a in self._pending], ignore_index=True)
            received = np.concatenate([a.received_at for a in self._pending])
        position = self._position
        self._pending = []
        # dead letters wait for the last slice, the one committed with the checkpoint: a crash
        # between slices then replays them once (decisions are upserts, dead letters are not)
        letters: list[DeadLetter] = []
        for start in range(0, len(records), self.max_batch):
            piece = records
            if start or len(records) > self.max_batch:
                piece = records.iloc[start : start + self.max_batch].reset_index(drop=True)
            last = start + self.max_batch >= len(records)
            scored = self.service.score(
                piece, source=self.source.kind, received_at=received[start : start + len(piece)]
            )
            checkpoint = (
                (self.source.source_id, position) if last and position is not None else None
            )
            letters += dead_letters(scored.rejected, self.source.source_id)
            self._writer.put(scored.decisions, letters if last else [], checkpoint)
            self.summary.read += len(piece)
            self.summary.scored += len(scored.decisions)
            self.summary.rejected += len(scored.rejected)
            self.summary.flagged += int(scored.decisions["decision"].sum())
            self.summary.batches += 1

    def _resume(self) -> str | None:
        """The position to start from: a consistent feature snapshot's, else the checkpoint."""
        checkpoint = self.store.checkpoint(self.source.source_id)
        saved = usable_snapshot(self.state_file, checkpoint)
        if saved is None:
            if checkpoint is not None:
                log.info(
                    "resuming %s from position %s (cold card state)",
                    self.source.source_id,
                    checkpoint,
                )
            return checkpoint
        self.service.restore(saved)
        log.info(
            "resuming %s from snapshot position %s (checkpoint %s)",
            self.source.source_id,
            saved["position"],
            checkpoint,
        )
        return str(saved["position"])

    def _snapshot(self) -> None:
        """Save the feature state with the position it corresponds to (atomic rename)."""
        assert self.state_file is not None
        self._writer.flush()  # the snapshot's position must already be stored
        write_snapshot(self.state_file, self._position, self.service)


def freeze_long_lived() -> int:
    """Take every object alive now out of the cyclic garbage collector's scans; how many.

    The modules, the model and the card state live as long as the process, yet each full
    collection walks all of them: about 100 ms every few seconds at 1,000 tx/s, which
    was most of the pipeline's p95/p99 latency. Frozen, a full collection walks only
    what was made since (1-2 ms). Reference counting still frees frozen objects; only
    reference cycles among them would stay (the API does the same at start).
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def start_position(store: Store, source_id: str, state_dir: Path | None) -> tuple[str | None, bool]:
    """Where a run of ``source_id`` will start, and whether from a feature snapshot.

    The same choice :meth:`Runner.run` makes, for a caller that must prepare the source
    before the run (the demo starts its feed at that cursor).
    """
    checkpoint = store.checkpoint(source_id)
    path = None if state_dir is None else state_file(state_dir, source_id)
    saved = usable_snapshot(path, checkpoint)
    return (checkpoint, False) if saved is None else (str(saved["position"]), True)
