"""Where the streaming pipeline reads from, each with a position it can resume from.

An input yields :class:`Arrival` s: raw records that arrived together, the source position
*after* them (stored as the checkpoint in the same database transaction as their
decisions) and when they arrived. An empty arrival means "nothing yet": the runner uses it
to flush a waiting micro-batch on time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from fraudwatch.sources.csv_file import read_transactions

log = logging.getLogger(__name__)
#: HTTP status of the feed's answer to a cursor from an earlier run (ahead of its newest).
CONFLICT = 409


@dataclass
class Arrival:
    """Raw records that arrived together, and the source position just after them."""

    records: pd.DataFrame
    position: str | None
    received_at: np.ndarray = field(default_factory=lambda: np.zeros(0))


class Input(Protocol):
    """A resumable source of raw transactions."""

    source_id: str
    kind: str
    finite: bool

    def arrivals(self, position: str | None, stop: threading.Event) -> Iterator[Arrival]:
        """Yield arrivals after ``position`` (None: from the start) until exhausted or stopped."""
        ...


def _now_array(n: int) -> np.ndarray:
    return np.full(n, time.time())


class _PacedRows:
    """Hands out rows of a frame stream at ``rate`` per second (None: as fast as possible)."""

    def __init__(
        self, frames: Iterator[pd.DataFrame], skip: int, rate: float | None, tick: float
    ) -> None:
        self.frames, self.skip, self.rate, self.tick = frames, skip, rate, tick

    def arrivals(self, stop: threading.Event, emitted: int) -> Iterator[tuple[pd.DataFrame, int]]:
        started, sent = time.monotonic(), 0
        for frame in self.frames:
            if self.skip >= len(frame):
                self.skip -= len(frame)
                continue
            offset, self.skip = self.skip, 0
            nothing = frame.iloc[:0]  # made once: slicing a frame costs ~40 µs
            while offset < len(frame) and not stop.is_set():
                if self.rate is None:
                    take = len(frame) - offset
                else:
                    due = int((time.monotonic() - started) * self.rate) - sent
                    if due <= 0:
                        yield nothing, emitted  # nothing due: let the runner flush
                        wait = (sent + 1) / self.rate - (time.monotonic() - started)
                        stop.wait(min(max(wait, 0.0), self.tick))
                        continue
                    take = min(due, len(frame) - offset)
                chunk = frame if take == len(frame) else frame.iloc[offset : offset + take]
                offset += take
                sent += len(chunk)
                emitted += len(chunk)
                yield chunk, emitted
            if stop.is_set():
                return


class CsvReplay:
    """A Kaggle-layout CSV file replayed at a rate or as fast as possible; position = rows read."""

    kind = "csv"
    finite = True

    def __init__(
        self, path: Path, *, rate: float | None = None, chunk_rows: int = 10_000, tick: float = 0.01
    ) -> None:
        self.path = Path(path)
        self.rate, self.chunk_rows, self.tick = rate, chunk_rows, tick
        self.source_id = f"csv:{self.path.resolve()}"

    def frames(self) -> Iterator[pd.DataFrame]:
        """The file's rows, chunk by chunk, unpaced (what ``fraudwatch feed`` serves)."""
        return read_transactions(self.path)

    def arrivals(self, position: str | None, stop: threading.Event) -> Iterator[Arrival]:
        """Rows after ``position`` (a row count), in file order."""
        done = int(position or 0)
        paced = _PacedRows(
            read_transactions(self.path, chunk_rows=self.chunk_rows), done, self.rate, self.tick
        )
        for chunk, emitted in paced.arrivals(stop, done):
            yield Arrival(chunk, str(emitted), _now_array(len(chunk)))


class SimulatorInput:
    """The simulator as an endless live source from ``start``; position = rows emitted."""

    kind = "simulator"
    finite = False

    def __init__(
        self,
        customers: int,
        seed: int,
        start: dt.date,
        *,
        rate: float | None = 10.0,
        tick: float = 0.01,
    ) -> None:
        from fraudwatch.sources.simulator import SimulatorConfig

        self.config = SimulatorConfig(customers=customers, seed=seed)
        self.start, self.rate, self.tick = start, rate, tick
        digest = hashlib.sha256(f"{customers}:{seed}:{start}".encode()).hexdigest()[:12]
        self.source_id = f"simulator:{digest}"

    def frames(self) -> Iterator[pd.DataFrame]:
        """The endless simulated stream from ``start``, unpaced (``fraudwatch feed`` serves it)."""
        from fraudwatch.sources.simulator import simulate

        return simulate(self.config, self.start, None)

    def arrivals(self, position: str | None, stop: threading.Event) -> Iterator[Arrival]:
        """Simulated rows after ``position`` (deterministic, so skipping replays exactly)."""
        from fraudwatch.sources.simulator import simulate

        done = int(position or 0)
        paced = _PacedRows(simulate(self.config, self.start, None), done, self.rate, self.tick)
        for chunk, emitted in paced.arrivals(stop, done):
            yield Arrival(chunk, str(emitted), _now_array(len(chunk)))


class FeedInput:
    """A live feed: our cursor API (position = cursor) or a Jedha-style URL (no position).

    ``source_id`` defaults to the URL; a caller whose feed may move to another address but
    is the same stream (the demo's) names it, so its checkpoint follows it. ``speed`` is the
    feed's event clock (stream seconds per wall second), when known, for the status table.
    """

    kind = "feed"
    finite = False

    def __init__(
        self,
        url: str,
        *,
        wait: float = 0.5,
        limit: int = 1000,
        source_id: str | None = None,
        speed: float | None = None,
    ) -> None:
        self.url, self.wait, self.limit, self.speed = url, wait, limit, speed
        self.source_id = source_id or f"feed:{url}"

    def arrivals(self, position: str | None, stop: threading.Event) -> Iterator[Arrival]:
        """New transactions as they are published; repeats are harmless (idempotent store).

        A cursor ahead of the feed's newest transaction means the feed restarted and counts
        from the start again: it is read from its start, with a warning (transactions it
        sends again are upserted by ``trans_num``, so decisions stay unique).
        """
        from fraudwatch.sources.feed_client import FeedClient, FeedError

        with FeedClient(self.url) as client:
            if not client.supports_cursor():
                for batch in client.poll(interval=self.wait, stop=stop):
                    yield Arrival(batch, None, _now_array(len(batch)))
                    yield Arrival(batch.iloc[:0], None)
                return
            cursor = int(position or 0)
            while not stop.is_set():
                try:
                    page = client.transactions_since(cursor, self.limit, wait=self.wait)
                except FeedError as error:
                    if error.status_code != CONFLICT or cursor == 0:
                        raise
                    log.warning(
                        "feed %s restarted (our cursor %d is ahead of its newest transaction): "
                        "reading it from its start",
                        self.url,
                        cursor,
                    )
                    cursor = 0
                    continue
                cursor = page.cursor
                yield Arrival(page.records, str(cursor), _now_array(len(page.records)))
                if 0 < len(page.records) < self.limit:
                    # caught up with the feed: say so at once, so the runner flushes now
                    # instead of holding the batch until the next long-poll answers
                    yield Arrival(page.records.iloc[:0], str(cursor))
                if page.exhausted:
                    return


def open_input(
    source: str,
    *,
    rate: float | None,
    seed: int,
    start: dt.date | None = None,
    customers: int = 1000,
) -> Input:
    """The input for a ``--source`` value: a CSV path, an http(s) URL, or ``simulator``.

    The one reading of a ``--source`` string: ``fraudwatch run`` reads the input it returns,
    ``fraudwatch feed`` serves the ``frames()`` of a file or the simulator.
    """
    if source == "simulator":
        return SimulatorInput(
            customers, seed, start or dt.date.today(), rate=rate if rate else 10.0
        )
    if source.startswith(("http://", "https://")):
        return FeedInput(source)
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(
            f"--source {source!r} is neither 'simulator', an http(s) URL nor a file"
        )
    return CsvReplay(path, rate=rate if rate and math.isfinite(rate) else None)
