"""The feed's engine: publishes source transactions on a clock and keeps the newest ones.

Every published transaction gets a sequence number (the cursor readers pass back) and a
``current_time``; the HTTP face is :mod:`fraudwatch.sources.feed_server`. Two clocks:

* **wall** (``rate=``): row k is published at ``start + k / rate`` and stamped with the
  wall clock in epoch milliseconds, as the Jedha API does. Whatever the source's own
  dates, every card then seems to buy as often as the rate makes it.
* **event** (``speed=``): each row is published when the source's own clock
  (``trans_date_trans_time``) reaches it, run ``speed`` times faster than real time, and
  stamped with that event time. Per-card timing is then exactly the data's: a card that
  buys every three hours in the simulator does so on this feed, only sooner.

Each source row is converted to JSON once, as it is published
(:mod:`fraudwatch.sources.feed_rows`); cursor reads are then string joins and the retained
transactions cost about 600 bytes each.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from types import TracebackType
from typing import Any, Self

import pandas as pd

from fraudwatch.errors import FraudwatchError
from fraudwatch.privacy import redact_pans
from fraudwatch.sources.feed_rows import FeedRow, prepared_rows

log = logging.getLogger(__name__)

#: Longest single wait of the publishing thread on the event clock (stays responsive).
_MAX_TICK = 0.25
#: Most rows published under one lock hold, so readers are never starved at high rates.
_MAX_BURST = 1000
#: Shortest sleep of the publishing thread: at high rates rows are published in small bursts.
_MIN_TICK = 0.002


@dataclass(frozen=True, slots=True)
class PublishedTransaction:
    """One published transaction, kept as JSON so that cursor reads cost a string join."""

    cursor: int
    record_json: str  # a JSON object, keys in FEED_COLUMNS order

    def record(self) -> dict[str, Any]:
        """The transaction as a column → value dict, for in-process readers."""
        record: dict[str, Any] = json.loads(self.record_json)
        return record

    def values_json(self) -> str:
        """The values alone as a JSON array, for the split-orient Jedha answer."""
        return json.dumps(list(self.record().values()), separators=(",", ":"))


@dataclass(frozen=True)
class FeedSlice:
    """What a cursor reader gets: records after its cursor, its next cursor, what it lost."""

    transactions: list[PublishedTransaction]
    cursor: int
    missed: int
    exhausted: bool


@dataclass(frozen=True)
class FeedStatus:
    """A consistent snapshot of the publisher for health checks."""

    status: str
    published: int
    cursor: int
    oldest_cursor: int
    rate: float | None
    retention: int
    exhausted: bool
    error: str | None
    clock: str = "wall"
    speed: float | None = None
    stream_time: str | None = None


class CursorAheadError(FraudwatchError, ValueError):
    """A reader's cursor is beyond anything published: it comes from another feed run."""


class FeedPublisher:
    """Publishes source transactions on a clock in a thread and keeps the newest ones.

    Give exactly one of ``rate`` (transactions per second on the wall clock, stamped with
    wall time: the Jedha feed) or ``speed`` (the source's own event clock, ``speed`` times
    real time, stamped with event time). ``start_cursor`` resumes a deterministic source:
    its first ``start_cursor`` rows are skipped and cursors go on from there, so a reader's
    checkpoint from an earlier run of the same source stays valid.
    """

    def __init__(
        self,
        source: Iterable[pd.DataFrame],
        *,
        rate: float | None = None,
        speed: float | None = None,
        retention: int = 100_000,
        start_cursor: int = 0,
    ) -> None:
        if (rate is None) == (speed is None):
            raise ValueError("give exactly one of rate (wall clock) and speed (event clock)")
        for name, value in (("rate", rate), ("speed", speed)):
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
        if retention < 1:
            raise ValueError(f"retention must be at least 1 transaction, got {retention!r}")
        if start_cursor < 0:
            raise ValueError(f"start_cursor must be >= 0, got {start_cursor!r}")
        self._source = source
        self.rate = None if rate is None else float(rate)
        self.speed = None if speed is None else float(speed)
        self.retention = int(retention)
        self.start_cursor = int(start_cursor)
        self._ring: list[PublishedTransaction] = []
        self._newest = self.start_cursor
        self._last_stamp_ms = 0
        self._stream_ms: int | None = None
        self._condition = threading.Condition(threading.RLock())
        self._stopping = threading.Event()
        self._finished = False
        self._source_ended = False
        self._error: str | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> Self:
        """Start publishing in a background thread (a no-op when already started)."""
        with self._condition:
            if self._thread is not None:
                return self
            if self._stopping.is_set():
                raise RuntimeError("a stopped FeedPublisher cannot be restarted")
            self._thread = threading.Thread(
                target=self._run, name="fraudwatch-feed-publisher", daemon=True
            )
            self._thread.start()
        log.info("feed publisher started: %s, retention %d", self.clock_text, self.retention)
        return self

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop publishing and wake all waiting readers; wait up to ``timeout`` s for the thread."""
        self._stopping.set()
        with self._condition:
            self._finished = True
            self._condition.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive() and timeout:
                log.warning("feed publisher thread still busy %.1f s after stop", timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- reading ---------------------------------------------------------------------------

    @property
    def published(self) -> int:
        """The newest cursor: transactions published so far, counting a resumed start."""
        return self._newest

    @property
    def clock(self) -> str:
        """``event`` when rows are paced and stamped by their own time, else ``wall``."""
        return "wall" if self.speed is None else "event"

    @property
    def clock_text(self) -> str:
        """The clock in words, for logs and the demo's banner."""
        if self.speed is None:
            return f"wall clock, {self.rate:g} transactions/s"
        return f"event clock at {self.speed:g}x real time"

    @property
    def exhausted(self) -> bool:
        """True once nothing more will be published (source ended or failed, or stopped)."""
        return self._finished

    def status(self) -> FeedStatus:
        """A consistent snapshot for ``/health``."""
        with self._condition:
            if self._error is not None:
                state = "failed"
            elif self._source_ended:
                state = "exhausted"
            elif self._finished:
                state = "stopped"
            elif self._newest == self.start_cursor:
                state = "waiting"
            else:
                state = "publishing"
            return FeedStatus(
                status=state,
                published=self._newest,
                cursor=self._newest,
                oldest_cursor=self._oldest(),
                rate=self.rate,
                retention=self.retention,
                exhausted=self._finished,
                error=self._error,
                clock=self.clock,
                speed=self.speed,
                stream_time=None
                if self._stream_ms is None
                else pd.Timestamp(self._stream_ms, unit="ms").isoformat(),
            )

    def wait_for_first(self, timeout: float) -> bool:
        """Wait until something is published (or nothing will be); True if anything was."""
        with self._condition:
            self._condition.wait_for(
                lambda: self._newest > self.start_cursor or self._finished, timeout
            )
            return self._newest > self.start_cursor

    def latest(self, count: int = 1) -> list[PublishedTransaction]:
        """The ``count`` newest transactions still retained, oldest first."""
        with self._condition:
            first = max(self._oldest(), self._newest - count + 1)
            return [self._at(cursor) for cursor in range(first, self._newest + 1)]

    def read_after(self, after: int, limit: int, wait: float = 0.0) -> FeedSlice:
        """Up to ``limit`` transactions after cursor ``after``, waiting up to ``wait`` s for one."""
        if after < 0 or limit < 1:
            raise ValueError(f"need after >= 0 and limit >= 1, got after={after}, limit={limit}")
        with self._condition:
            self._check_cursor(after)
            if wait > 0:
                self._condition.wait_for(lambda: self._newest > after or self._finished, wait)
            first = max(after + 1, self._oldest())
            last = min(self._newest, first + limit - 1)
            transactions = [self._at(cursor) for cursor in range(first, last + 1)]
            cursor = last if transactions else after
            return FeedSlice(
                transactions=transactions,
                cursor=cursor,
                missed=first - (after + 1) if transactions else 0,
                exhausted=self._finished and cursor >= self._newest,
            )

    def _check_cursor(self, after: int) -> None:
        if after > self._newest:
            raise CursorAheadError(
                f"cursor {after} is ahead of the newest transaction ({self._newest}): it comes "
                "from an earlier run of the feed; restart from cursor 0"
            )

    def _oldest(self) -> int:
        return self._newest - len(self._ring) + 1 if self._ring else self._newest + 1

    def _at(self, cursor: int) -> PublishedTransaction:
        return self._ring[(cursor - self.start_cursor - 1) % self.retention]

    # -- publishing ------------------------------------------------------------------------

    def _run(self) -> None:
        """Publish rows as they fall due on the clock (absolute schedule: no drift).

        One row is always fetched ahead, so the end of the source is known as soon as its
        last row is out, and a slow source is read before its rows fall due.
        """
        rows = islice(self._source_rows(), self.start_cursor, None)
        count = 0
        try:
            upcoming = list(islice(rows, 1))
            started = time.monotonic()
            origin_ms = upcoming[0].event_ms if upcoming else None
            while upcoming and not self._stopping.is_set():
                if self.speed is None:
                    batch, upcoming = self._due_by_rate(upcoming, rows, count, started)
                else:
                    batch, upcoming = self._due_by_event(upcoming, rows, started, origin_ms)
                if batch:
                    self._publish(batch)
                    count += len(batch)
            if not upcoming and self._error is not None:
                log.error("feed source failed after %d transactions: %s", count, self._error)
            elif not upcoming:
                self._source_ended = True
                log.info("feed source exhausted after %d transactions", count)
        finally:
            close = getattr(self._source, "close", None)
            if callable(close):
                close()
            with self._condition:
                self._finished = True
                self._condition.notify_all()

    def _due_by_rate(
        self, upcoming: list[FeedRow], rows: Iterator[FeedRow], count: int, started: float
    ) -> tuple[list[FeedRow], list[FeedRow]]:
        """Wall clock: row k falls due at ``started + k / rate``; (rows due now, next row)."""
        assert self.rate is not None
        due = int((time.monotonic() - started) * self.rate) + 1
        if count >= due:
            next_due = started + count / self.rate
            self._stopping.wait(max(next_due - time.monotonic(), _MIN_TICK))
            return [], upcoming
        batch = upcoming + list(islice(rows, min(due - count, _MAX_BURST) - 1))
        return batch, list(islice(rows, 1))

    def _due_by_event(
        self,
        upcoming: list[FeedRow],
        rows: Iterator[FeedRow],
        started: float,
        origin_ms: int | None,
    ) -> tuple[list[FeedRow], list[FeedRow]]:
        """Event clock: a row falls due when ``speed`` x the elapsed time reaches its time."""
        assert self.speed is not None
        speed = self.speed

        def wait_for(row: FeedRow) -> float:
            if row.event_ms is None or origin_ms is None:
                return 0.0  # no time of its own: out at once (the reader rejects it)
            due = started + (row.event_ms - origin_ms) / 1000.0 / speed
            return due - time.monotonic()

        first_wait = wait_for(upcoming[0])
        if first_wait > 0:
            self._stopping.wait(min(max(first_wait, _MIN_TICK), _MAX_TICK))
            return [], upcoming
        batch = list(upcoming)
        for row in rows:
            if wait_for(row) > 0 or len(batch) >= _MAX_BURST:
                return batch, [row]
            batch.append(row)
        return batch, []

    def _source_rows(self) -> Iterator[FeedRow]:
        """The prepared rows; a failing source ends them, with the error kept for ``/health``."""
        try:
            yield from prepared_rows(self._source)
        except Exception as error:
            self._error = f"{type(error).__name__}: {redact_pans(str(error))}"

    def _publish(self, batch: list[FeedRow]) -> None:
        if self.speed is None:
            stamp = max(int(time.time() * 1000), self._last_stamp_ms)
            self._last_stamp_ms = stamp
            suffixes = [f',"current_time":{stamp}}}'] * len(batch)
        else:
            suffixes = [
                f',"current_time":{"null" if row.event_ms is None else row.event_ms}}}'
                for row in batch
            ]
        with self._condition:
            for row, suffix in zip(batch, suffixes, strict=True):
                self._newest += 1
                published = PublishedTransaction(self._newest, row.prefix + suffix)
                if len(self._ring) < self.retention:
                    self._ring.append(published)
                else:
                    self._ring[(self._newest - self.start_cursor - 1) % self.retention] = published
                if row.event_ms is not None and self.speed is not None:
                    self._stream_ms = max(self._stream_ms or row.event_ms, row.event_ms)
            if self.speed is None:
                self._stream_ms = self._last_stamp_ms
            self._condition.notify_all()
