"""The one store writer: decisions go to a queue and a thread commits them, in order.

The streaming pipeline and the scoring API both hand their decisions (and dead letters) to a
:class:`BatchWriter`, so the next batch is scored while this one commits. What differs is
what each caller must promise, and that is configuration, not a second writer:

* **The pipeline** (:meth:`BatchWriter.exactly_once`): every batch is committed with the
  input position after it (the checkpoint) in ONE :meth:`Store.write_batch
  <fraudwatch.sinks.store.Store.write_batch>` transaction, batch by batch, in order. The
  queue is short (back-pressure: scoring never runs far ahead of storage) and an error is
  raised in the pipeline at its next hand-over, so the checkpoint never passes data that
  is not stored. Small batches may be written by the caller's own thread (``inline_rows``:
  on SQLite the thread costs more than it saves — the sqlite3 module lets go of the GIL
  around every step and must take it back from the scoring thread each time, up to the
  5 ms switch interval, so a 0.5 ms commit took 1.5 ms at the median and 6 ms at p99 and
  the pipeline's latency doubled).
* **The API** (:meth:`BatchWriter.background`): a request never waits for the database. It
  enqueues and answers; the thread gathers what arrives within ``max_wait`` seconds (or
  ``max_rows`` decisions) into one transaction. **Durability is therefore asynchronous**:
  a decision the API returned is in the database a few tens of milliseconds later, and one
  still queued when the process dies is lost. When the store keeps failing (after its own
  retries) or the queue is full, decisions are dropped with an ERROR log and counted
  (:class:`WriteCounters`) rather than slowing the API down.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Literal, Protocol

import pandas as pd

from fraudwatch.decision import DECISION_COLUMNS
from fraudwatch.errors import FraudwatchError
from fraudwatch.sinks.records import DeadLetter

log = logging.getLogger(__name__)

Hook = Callable[[pd.DataFrame], None]
Checkpoint = tuple[str, str]
_Item = tuple[pd.DataFrame, list[DeadLetter], Checkpoint | None]
_CLOSE = object()
_NO_DECISIONS = pd.DataFrame(columns=list(DECISION_COLUMNS))


class StoreWriteError(FraudwatchError, RuntimeError):
    """A batch could not be stored: the exactly-once writer stops its pipeline with it."""


class DecisionStore(Protocol):
    """What the writer needs of a store (:class:`fraudwatch.sinks.store.Store` has it)."""

    def write_batch(
        self,
        decisions: pd.DataFrame,
        rejected: Sequence[DeadLetter] = (),
        checkpoint: tuple[str, str] | None = None,
    ) -> int:
        """Write decisions, dead letters and the checkpoint in one transaction."""
        ...


class WriteCounters(Protocol):
    """Where a background writer reports rows (the API's Prometheus metrics)."""

    def queued(self, rows: int) -> None:
        """Rows handed over, waiting."""

    def unqueued(self, rows: int) -> None:
        """Rows no longer waiting (written or failed)."""

    def written(self, rows: int) -> None:
        """Rows committed."""

    def failed(self, rows: int) -> None:
        """Rows dropped: the queue was full or the store kept failing."""


class BatchWriter:
    """A queue of decision batches and the thread that commits them, in order.

    Use :meth:`exactly_once` (the pipeline) or :meth:`background` (the API); see the module
    docstring for what each promises.
    """

    def __init__(
        self,
        store: DecisionStore,
        *,
        hooks: Sequence[Hook] = (),
        depth: int = 2,
        when_full: Literal["wait", "drop"] = "wait",
        on_error: Literal["raise", "log"] = "raise",
        inline_rows: int = 0,
        gather: tuple[float, int] | None = None,
        counters: WriteCounters | None = None,
        name: str = "fraudwatch-writer",
    ) -> None:
        self.store, self.hooks, self.inline_rows = store, list(hooks), inline_rows
        self.when_full, self.on_error = when_full, on_error
        self.gather, self.counters = gather, counters
        self.error: BaseException | None = None
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._idle = threading.Condition()
        self._pending = 0  # items handed over and not yet written (or dropped)
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    @classmethod
    def exactly_once(
        cls, store: DecisionStore, hooks: Sequence[Hook] = (), *, inline_rows: int = 0
    ) -> BatchWriter:
        """The pipeline's writer: each batch with its checkpoint, back-pressure, errors raised."""
        return cls(store, hooks=hooks, inline_rows=inline_rows)

    @classmethod
    def background(
        cls,
        store: DecisionStore,
        counters: WriteCounters | None = None,
        *,
        max_wait: float = 0.02,
        max_rows: int = 500,
        max_queued: int = 100_000,
    ) -> BatchWriter:
        """The API's writer: never blocks a request; gathers batches; drops and counts failures."""
        return cls(
            store, depth=max_queued, when_full="drop", on_error="log",
            gather=(max_wait, max_rows), counters=counters, name="fraudwatch-api-writer",
        )  # fmt: skip

    def put(
        self,
        decisions: pd.DataFrame | None,
        letters: Sequence[DeadLetter] = (),
        checkpoint: Checkpoint | None = None,
    ) -> None:
        """Hand a batch over; store it with ``checkpoint`` (if any) in one transaction.

        ``wait`` writers block while ``depth`` batches are queued and raise an earlier
        failure here; ``drop`` writers never block. A batch of at most ``inline_rows`` rows
        is written by the caller, once what was handed over before is stored.
        """
        self._raise()
        decisions = _NO_DECISIONS if decisions is None else decisions
        if not len(decisions) and not letters and checkpoint is None:
            return  # nothing to store
        item: _Item = (decisions, list(letters), checkpoint)
        rows = len(decisions)
        if rows + len(letters) <= self.inline_rows:
            self.flush()  # what was handed over before commits first
            try:
                self._store([item])
            except BaseException as error:
                self.error = error
                self._raise()
            return
        with self._idle:
            self._pending += 1
        if self.when_full == "wait":
            self._queue.put(item)
        else:
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                self._done(1)
                self._count("failed", rows)
                log.error("store writer queue is full: dropped %d decisions", rows)
                return
        self._count("queued", rows)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything handed over is written (or dropped); False on timeout.

        A ``raise`` writer raises here the error that stopped its writing.
        """
        idle = self._wait(timeout)
        self._raise()
        return idle

    def close(self, timeout: float | None = None) -> None:
        """Write what is queued, then stop the thread (and raise what stopped the writing)."""
        self._wait(timeout)
        self._queue.put(_CLOSE)
        self._thread.join(timeout)
        self._raise()

    def _wait(self, timeout: float | None) -> bool:
        """Until nothing handed over is pending; False when ``timeout`` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _raise(self) -> None:
        if self.error is not None and self.on_error == "raise":
            raise StoreWriteError(f"storing a batch failed: {self.error}") from self.error

    def _done(self, items: int) -> None:
        with self._idle:
            self._pending -= items
            self._idle.notify_all()

    def _count(self, what: str, rows: int) -> None:
        if self.counters is not None and rows:
            getattr(self.counters, what)(rows)

    def _work(self) -> None:
        while True:
            first = self._queue.get()
            if first is _CLOSE:
                return
            batch: list[_Item] = [first]  # type: ignore[list-item]
            stop = self.gather is not None and self._gather(batch)
            try:
                if self.error is None:  # after a failure a ``raise`` writer stores nothing more
                    self._store(batch)
            except BaseException as error:
                self._failed(batch, error)
            finally:
                rows = sum(len(item[0]) for item in batch)
                self._count("unqueued", rows)
                self._done(len(batch))
            if stop:
                return

    def _gather(self, batch: list[_Item]) -> bool:
        """Add what arrives within ``max_wait`` (up to ``max_rows``); True if asked to stop."""
        assert self.gather is not None
        max_wait, max_rows = self.gather
        rows = len(batch[0][0])
        # let the batch gather without waking up per request: each wake-up would take the
        # GIL from the event loop just to move one row from the queue
        if rows < max_rows and self._queue.qsize() * 2 < max_rows:
            time.sleep(max_wait)
        while rows < max_rows:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return False
            if item is _CLOSE:
                return True
            batch.append(item)  # type: ignore[arg-type]
            rows += len(item[0])  # type: ignore[index]
        return False

    def _store(self, batch: list[_Item]) -> None:
        """Commit the batches as one transaction (the last checkpoint), then run the hooks."""
        frames = [frame for frame, _, _ in batch if len(frame)]
        if len(batch) == 1:
            decisions = batch[0][0]
        elif len(frames) > 1:
            decisions = pd.concat(frames, ignore_index=True)
        else:
            decisions = frames[0] if frames else _NO_DECISIONS
        letters = [letter for _, rejected, _ in batch for letter in rejected]
        checkpoints = [checkpoint for _, _, checkpoint in batch if checkpoint is not None]
        self.store.write_batch(decisions, letters, checkpoints[-1] if checkpoints else None)
        self._count("written", len(decisions))
        for hook in self.hooks:
            hook(decisions)

    def _failed(self, batch: list[_Item], error: BaseException) -> None:
        """A ``raise`` writer keeps the error for the caller; a ``log`` writer drops the batch."""
        if self.on_error == "raise":
            self.error = error
            return
        rows = sum(len(item[0]) for item in batch)
        letters = sum(len(item[1]) for item in batch)
        self._count("failed", rows)
        # the type only: a driver's message may quote the values it could not write
        log.error(
            "could not store %d decisions and %d dead letters: %s",
            rows,
            letters,
            type(error).__name__,
        )
