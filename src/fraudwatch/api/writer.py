"""The API's store writer: decisions go to a queue and a background thread writes them.

A request never waits for the database: it enqueues its decisions (and dead letters) and
answers. The writer thread gathers what arrives within ``max_wait`` seconds (or
``max_rows`` decisions) into one :meth:`~fraudwatch.sinks.store.Store.write_batch`
transaction. **Durability on the API path is therefore asynchronous**: a decision the API
returned is in the database a few tens of milliseconds later, and one still queued when
the process dies is lost (the streaming pipeline, by contrast, commits each batch before
it moves its checkpoint). When the store keeps failing (after its own retries) or the
queue is full, decisions are dropped with an ERROR log and counted in
``fraudwatch_api_store_failed_total`` rather than slowing the API down.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from typing import Protocol

import pandas as pd

from fraudwatch.api.metrics import ApiMetrics
from fraudwatch.pipeline.decision import DECISION_COLUMNS
from fraudwatch.sinks.records import DeadLetter

log = logging.getLogger(__name__)

_STOP = object()
_NO_DECISIONS = pd.DataFrame(columns=list(DECISION_COLUMNS))


class DecisionStore(Protocol):
    """What the writer needs of a store (:class:`fraudwatch.sinks.store.Store` has it)."""

    def write_batch(
        self,
        decisions: pd.DataFrame,
        rejected: Sequence[DeadLetter] = (),
        checkpoint: tuple[str, str] | None = None,
    ) -> int:
        """Write decisions and dead letters in one transaction."""
        ...


class StoreWriter:
    """A queue of decisions and the thread that writes them to the store in batches."""

    def __init__(
        self,
        store: DecisionStore,
        metrics: ApiMetrics,
        *,
        max_wait: float = 0.02,
        max_rows: int = 500,
        max_queued: int = 100_000,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.max_wait = max_wait
        self.max_rows = max_rows
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queued)
        self._idle = threading.Condition()
        self._pending = 0  # items enqueued and not yet written (or dropped)
        self._thread = threading.Thread(target=self._run, name="fraudwatch-api-writer", daemon=True)
        self._thread.start()

    def submit(self, decisions: pd.DataFrame | None, rejected: Sequence[DeadLetter] = ()) -> None:
        """Queue a batch's decisions (``DECISION_COLUMNS``) and dead letters; never blocks."""
        decisions = _NO_DECISIONS if decisions is None else decisions
        if not len(decisions) and not rejected:
            return
        with self._idle:
            self._pending += 1
        try:
            self._queue.put_nowait((decisions, list(rejected)))
        except queue.Full:
            self._done(1)
            self.metrics.store_failed.inc(len(decisions))
            log.error("store writer queue is full: dropped %d decisions", len(decisions))
            return
        self.metrics.store_queue.inc(len(decisions))

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far is written (or dropped); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then stop the thread."""
        self.flush(timeout)
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _done(self, items: int) -> None:
        with self._idle:
            self._pending -= items
            self._idle.notify_all()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            rows = len(first[0])  # type: ignore[index]
            # let the batch gather without waking up per request: each wake-up would take
            # the GIL from the event loop just to move one row from the queue
            if rows < self.max_rows and self._queue.qsize() * 2 < self.max_rows:
                time.sleep(self.max_wait)
            stop = False
            while rows < self.max_rows:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
                rows += len(item[0])  # type: ignore[index]
            self._write(batch)  # type: ignore[arg-type]
            if stop:
                return

    def _write(self, batch: list[tuple[pd.DataFrame, list[DeadLetter]]]) -> None:
        frames = [frame for frame, _ in batch if len(frame)]
        if len(frames) > 1:
            decisions = pd.concat(frames, ignore_index=True)
        else:
            decisions = frames[0] if frames else _NO_DECISIONS
        letters = [letter for _, rejected in batch for letter in rejected]
        try:
            self.store.write_batch(decisions, letters)
        except Exception as error:  # the store already retried transient errors
            self.metrics.store_failed.inc(len(decisions))
            log.error(
                "could not store %d decisions and %d dead letters: %s",
                len(decisions),
                len(letters),
                type(error).__name__,
            )
        else:
            self.metrics.store_written.inc(len(decisions))
        finally:
            self.metrics.store_queue.dec(len(decisions))
            self._done(len(batch))
