"""The feed's engine: publishes source transactions at a steady rate and keeps the newest ones.

Every published transaction gets a sequence number (the cursor readers pass back) and the
publication time as ``current_time``; the HTTP face is :mod:`fraudwatch.sources.feed_server`.

Each source row is converted to JSON once, as it is published (every value JSON-safe: NaN
becomes null, numpy scalars become Python numbers) and stamped with ``current_time``, the
wall clock in epoch milliseconds, as the Jedha API does; cursor reads are then string joins
and the retained transactions cost about 600 bytes each.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from types import TracebackType
from typing import Any, Self

import numpy as np
import pandas as pd

from fraudwatch.privacy import redact_pans
from fraudwatch.schema import FEED_COLUMNS

log = logging.getLogger(__name__)

_SOURCE_COLUMNS: tuple[str, ...] = tuple(c for c in FEED_COLUMNS if c != "current_time")
_INTEGER_COLUMNS = frozenset({"cc_num", "zip", "city_pop", "is_fraud"})
_NUMBER_COLUMNS = frozenset({"amt", "lat", "long", "merch_lat", "merch_long"})
_DATE_COLUMNS = frozenset({"dob"})
_INTEGER_TEXT = re.compile(r"[+-]?\d+")
_DATE_PREFIX = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T].*)?")
#: Rows converted to JSON at a time: bounds the pause a large source chunk causes.
_SLICE_ROWS = 1000
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
    rate: float
    retention: int
    exhausted: bool
    error: str | None


class CursorAheadError(ValueError):
    """A reader's cursor is beyond anything published: it comes from another feed run."""


class FeedPublisher:
    """Publishes source transactions at a steady rate in a thread and keeps the newest ones."""

    def __init__(
        self, source: Iterable[pd.DataFrame], *, rate: float, retention: int = 100_000
    ) -> None:
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"rate must be a positive number of transactions/s, got {rate!r}")
        if retention < 1:
            raise ValueError(f"retention must be at least 1 transaction, got {retention!r}")
        self._source = source
        self.rate = float(rate)
        self.retention = int(retention)
        self._ring: list[PublishedTransaction] = []
        self._newest = 0
        self._last_stamp_ms = 0
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
        log.info(
            "feed publisher started: %g transactions/s, retention %d", self.rate, self.retention
        )
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
        """Transactions published so far (also the newest cursor)."""
        return self._newest

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
            elif self._newest == 0:
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
            )

    def wait_for_first(self, timeout: float) -> bool:
        """Wait until something is published (or nothing will be); True if anything was."""
        with self._condition:
            self._condition.wait_for(lambda: self._newest > 0 or self._finished, timeout)
            return self._newest > 0

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
        return self._newest - len(self._ring) + 1

    def _at(self, cursor: int) -> PublishedTransaction:
        return self._ring[(cursor - 1) % self.retention]

    # -- publishing ------------------------------------------------------------------------

    def _run(self) -> None:
        """Publish row k at ``start + k / rate`` (absolute schedule: no drift, bursts catch up).

        One row is always fetched ahead, so the end of the source is known as soon as its
        last row is out, and a slow source is read before its rows fall due.
        """
        rows = self._source_rows()
        count = 0
        try:
            upcoming = list(islice(rows, 1))
            started = time.monotonic()
            while upcoming and not self._stopping.is_set():
                due = int((time.monotonic() - started) * self.rate) + 1
                if count >= due:
                    next_due = started + count / self.rate
                    self._stopping.wait(max(next_due - time.monotonic(), _MIN_TICK))
                    continue
                batch = upcoming + list(islice(rows, min(due - count, _MAX_BURST) - 1))
                self._publish(batch)
                count += len(batch)
                upcoming = list(islice(rows, 1))
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

    def _source_rows(self) -> Iterator[str]:
        """The prepared rows; a failing source ends them, with the error kept for ``/health``."""
        try:
            yield from _prepared_rows(self._source)
        except Exception as error:
            self._error = f"{type(error).__name__}: {redact_pans(str(error))}"

    def _publish(self, batch: list[str]) -> None:
        stamp = max(int(time.time() * 1000), self._last_stamp_ms)
        self._last_stamp_ms = stamp
        suffix = f',"current_time":{stamp}}}'
        with self._condition:
            for row_prefix in batch:
                self._newest += 1
                published = PublishedTransaction(self._newest, row_prefix + suffix)
                if len(self._ring) < self.retention:
                    self._ring.append(published)
                else:
                    self._ring[(self._newest - 1) % self.retention] = published
            self._condition.notify_all()


# -- source rows → JSON ------------------------------------------------------------------


def _prepared_rows(source: Iterable[pd.DataFrame]) -> Iterator[str]:
    """Source rows as JSON objects missing ``current_time`` and the closing brace."""
    for frame in source:
        for start in range(0, len(frame), _SLICE_ROWS):
            yield from _prepare_slice(frame.iloc[start : start + _SLICE_ROWS])


def _prepare_slice(frame: pd.DataFrame) -> Iterator[str]:
    columns = [_column_values(frame, name) for name in _SOURCE_COLUMNS]
    for values in zip(*columns, strict=True):
        record = dict(zip(_SOURCE_COLUMNS, values, strict=True))
        yield json.dumps(record, allow_nan=False, separators=(",", ":"))[:-1]


def _column_values(frame: pd.DataFrame, name: str) -> list[Any]:
    """One column as JSON-safe Python values of the type the Jedha feed uses."""
    if name not in frame:
        return [None] * len(frame)
    series = frame[name]
    numeric = pd.api.types.is_numeric_dtype(series.dtype)
    if name in _NUMBER_COLUMNS and numeric and not pd.api.types.is_bool_dtype(series.dtype):
        numbers = series.to_numpy(dtype="float64", na_value=np.nan).tolist()
        return [value if math.isfinite(value) else None for value in numbers]
    if (
        name in _INTEGER_COLUMNS
        and isinstance(series.dtype, np.dtype)
        and series.dtype.kind in "iu"
    ):
        return list(series.tolist())
    convert = _CONVERTERS.get(name, _text)
    return [convert(value) for value in series.tolist()]


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def _integer(value: Any) -> Any:
    """An integer when the value is one in any guise; anything else passes through as text."""
    if _is_missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return (
            int(value) if value.is_integer() else (float(value) if math.isfinite(value) else None)
        )
    text = str(value).strip()
    if _INTEGER_TEXT.fullmatch(text):
        return int(text)
    return text or None


def _number(value: Any) -> Any:
    """A finite float, or null; text that is not a number passes through for validation."""
    if _is_missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text or None
    return number if math.isfinite(number) else None


def _date(value: Any) -> Any:
    """A ``YYYY-MM-DD`` string, as the Jedha feed writes dates of birth."""
    if _is_missing(value):
        return None
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    text = str(value).strip()
    return text[:10] if _DATE_PREFIX.fullmatch(text) else (text or None)


def _text(value: Any) -> Any:
    if _is_missing(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    return value if isinstance(value, str) else str(value)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(_INTEGER_COLUMNS, _integer),
    **dict.fromkeys(_NUMBER_COLUMNS, _number),
    **dict.fromkeys(_DATE_COLUMNS, _date),
}
