"""Reads a live transaction feed: our cursor API when the server has it, the Jedha endpoint else.

The Jedha ``/current-transactions`` endpoint only ever shows the newest transaction, so
polling it repeatedly returns duplicates (removed here by ``trans_num``) and can skip
transactions when the poller is slower than the feed. Our server's ``/v1/transactions``
cursor API does neither, so :meth:`FeedClient.poll` uses it whenever it is there. Network
trouble and 5xx answers are retried with exponential backoff; a 4xx answer is our mistake
and fails at once with the server's message.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx
import pandas as pd

from fraudwatch.errors import FraudwatchError
from fraudwatch.privacy import redact_pans
from fraudwatch.retry import DEFAULT_MAX_DELAY, retry_call
from fraudwatch.schema import FEED_COLUMNS

log = logging.getLogger(__name__)

JEDHA_PATH = "/current-transactions"
CURSOR_PATH = "/v1/transactions"
#: trans_nums remembered when de-duplicating the Jedha endpoint (oldest forgotten first).
SEEN_MEMORY = 100_000
#: The server's longest long-poll (``feed_server.MAX_WAIT_SECONDS``; not imported, so the
#: client does not pull in the server's dependencies).
_MAX_WAIT = 30.0
_SNIPPET = 200


class FeedError(FraudwatchError, RuntimeError):
    """The feed could not be read: unreachable after retries, a 4xx answer, or a bad payload."""

    def __init__(self, message: str, *, url: str | None = None, status_code: int | None = None):
        super().__init__(message)
        self.url = url
        self.status_code = status_code


class _StopRequestedError(FraudwatchError):
    """The caller's stop event was set while waiting to retry."""


class _RetryableAnswerError(FraudwatchError):
    """A 5xx or 429 answer: worth another attempt (the server's trouble, not ours)."""

    def __init__(self, problem: str, status_code: int) -> None:
        super().__init__(problem)
        self.status_code = status_code


#: What the feed retries: the connection failing, or an answer that asks to come back.
_RETRIED = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    _RetryableAnswerError,
)


@dataclass(frozen=True)
class FeedPage:
    """One answer of the cursor API: records after a cursor and the cursor to pass back."""

    records: pd.DataFrame
    cursor: int
    missed: int
    exhausted: bool


def decode_feed_payload(payload: Any) -> pd.DataFrame:
    """Turn any form the feed speaks (Jedha's double-encoded split frame, ours) into a frame."""
    for _ in range(3):  # Jedha's body is JSON text holding JSON text
        if isinstance(payload, bytes | bytearray):
            payload = payload.decode("utf-8")
        if not isinstance(payload, str):
            break
        try:
            payload = json.loads(payload)
        except json.JSONDecodeError as error:
            raise FeedError(f"feed payload is not JSON ({error.msg})") from error
    if isinstance(payload, Mapping):
        if "records" in payload:
            return _from_records(payload["records"])
        if "columns" in payload and "data" in payload:
            return _from_split(payload)
        raise FeedError(
            "feed payload is a JSON object without 'records' nor 'columns'/'data' keys "
            f"(keys: {', '.join(map(str, list(payload)[:10]))})"
        )
    if isinstance(payload, list):
        return _from_records(payload)
    raise FeedError(f"feed payload is a {type(payload).__name__}, not a transaction frame")


def _from_split(payload: Mapping[str, Any]) -> pd.DataFrame:
    columns, rows = payload["columns"], payload["data"]
    if not isinstance(columns, list) or not isinstance(rows, list):
        raise FeedError("feed payload 'columns' and 'data' must be lists")
    for position, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(columns):
            raise FeedError(f"feed payload row {position} does not have {len(columns)} values")
    index = payload.get("index")
    if not isinstance(index, list) or len(index) != len(rows):
        index = None
    return _frame([str(name) for name in columns], rows, index)


def _from_records(records: Any) -> pd.DataFrame:
    if not isinstance(records, list) or not all(isinstance(r, Mapping) for r in records):
        raise FeedError("feed payload records must be a list of JSON objects")
    present: dict[str, None] = {}
    for record in records:
        present.update(dict.fromkeys(map(str, record)))
    columns = [name for name in FEED_COLUMNS if name in present]
    columns += [name for name in present if name not in FEED_COLUMNS]
    rows = [[record.get(name) for name in columns] for record in records]
    return _frame(columns or list(FEED_COLUMNS), rows, None)


def _frame(columns: list[str], rows: list[list[Any]], index: list[Any] | None) -> pd.DataFrame:
    """Build column by column: integers mixed with nulls stay exact Python ints (object)."""
    data: dict[str, pd.Series] = {}
    for position, name in enumerate(columns):
        values = [row[position] for row in rows]
        has_null = any(value is None for value in values)
        has_int = any(isinstance(v, int) and not isinstance(v, bool) for v in values)
        dtype = object if (has_null and has_int) or not rows else None
        try:
            data[name] = pd.Series(values, dtype=dtype)
        except UnicodeEncodeError:  # a lone surrogate: kept as Python text for validation
            data[name] = pd.Series(values, dtype=object)
    frame = pd.DataFrame(data, columns=columns)
    if index is not None:
        frame.index = pd.Index(index)
    return frame


class _RecentKeys:
    """A set that remembers only the newest ``capacity`` keys, so memory stays bounded."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._order: deque[Hashable] = deque()
        self._keys: set[Hashable] = set()

    def mark_new(self, keys: Iterable[Any]) -> list[bool]:
        """For each key, whether it was unseen; remembers it. Missing keys always count new."""
        fresh = []
        for key in keys:
            if key is None or pd.isna(key):
                fresh.append(True)
                continue
            if key in self._keys:
                fresh.append(False)
                continue
            fresh.append(True)
            self._keys.add(key)
            self._order.append(key)
            if len(self._order) > self._capacity:
                self._keys.discard(self._order.popleft())
        return fresh


class FeedClient:
    """HTTP client of the feed with retries; takes our base URL or a Jedha-style full URL."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        retries: int = 6,  # waits of at least 15.75 s in all (x0.5-1.5 jitter)
        backoff: float = 0.5,
        api_key: str | None = None,
    ) -> None:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError(f"feed URL must look like http(s)://host[:port][/path], got {url!r}")
        if timeout <= 0 or retries < 0 or backoff < 0:
            raise ValueError("need timeout > 0, retries >= 0 and backoff >= 0")
        self.url = url
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._jedha_style = parsed.path.rstrip("/").endswith(JEDHA_PATH)
        if self._jedha_style:
            self._current_url = url  # used unchanged, whatever host and prefix it has
            base = str(parsed.copy_with(path=parsed.path.rstrip("/")[: -len(JEDHA_PATH)]))
        else:
            base = url.rstrip("/")
            self._current_url = base + JEDHA_PATH
        self._cursor_url = base.rstrip("/") + CURSOR_PATH
        self._health_url = base.rstrip("/") + "/health"
        self._has_cursor: bool | None = False if self._jedha_style else None
        #: Cursor of the last cursor-API page read; :meth:`poll` resumes from it.
        self.last_cursor = 0
        headers = {"Accept": "application/json", "User-Agent": "fraudwatch-feed-client"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(headers=headers, timeout=timeout, follow_redirects=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    # -- endpoints -------------------------------------------------------------------------

    def current_transactions(self, n: int | None = None) -> pd.DataFrame:
        """The newest transaction (or ``n`` newest, on our server), as the Jedha API gives it."""
        return self._current(n, stop=None)

    def transactions_since(self, cursor: int = 0, limit: int = 1000, wait: float = 0.0) -> FeedPage:
        """Transactions after ``cursor`` (long-polling up to ``wait`` s); pass back its cursor."""
        return self._page(cursor, limit, wait, stop=None)

    def supports_cursor(self) -> bool:
        """Whether the server has the lossless cursor API (never for a Jedha-style URL)."""
        if self._has_cursor is None:
            try:
                self._get_json(self._cursor_url, {"after": 0, "limit": 1}, stop=None)
            except FeedError as error:
                if error.status_code != 404:
                    raise
                self._has_cursor = False
            else:
                self._has_cursor = True
        return self._has_cursor

    def health(self) -> dict[str, Any]:
        """Our server's ``/health`` answer (status, published count, cursor, exhausted)."""
        answer = self._get_json(self._health_url, None, stop=None)
        if not isinstance(answer, dict):
            raise FeedError(
                f"{self._health_url} did not answer a JSON object", url=self._health_url
            )
        return answer

    def poll(
        self,
        interval: float = 1.0,
        limit: int = 1000,
        stop: threading.Event | None = None,
        *,
        cursor: int | None = None,
        max_rows: int | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Yield each batch of new transactions until the feed ends or ``stop`` is set.

        With the cursor API, ``interval`` is the long-poll wait and nothing is lost or
        repeated (resume from ``cursor``, default :attr:`last_cursor`); with a Jedha-style
        URL the newest transaction is fetched every ``interval`` s and repeats are dropped.
        ``max_rows`` ends the poll after that many rows on either URL (the cursor API is
        asked for no more, so :attr:`last_cursor` stays right after the last row yielded).
        """
        if interval <= 0:
            raise ValueError(f"interval must be > 0 s, got {interval}")
        if max_rows is not None and max_rows < 1:
            raise ValueError(f"max_rows must be >= 1, got {max_rows}")
        if self.supports_cursor():
            batches = self._poll_cursor(interval, limit, stop, cursor, max_rows)
        else:
            batches = self._poll_current(interval, stop)
        remaining = max_rows
        for batch in batches:
            yield batch if remaining is None else batch.iloc[:remaining]
            if remaining is not None and (remaining := remaining - len(batch)) <= 0:
                return

    def _poll_cursor(
        self,
        interval: float,
        limit: int,
        stop: threading.Event | None,
        cursor: int | None,
        most: int | None,
    ) -> Iterator[pd.DataFrame]:
        position, remaining = (self.last_cursor if cursor is None else cursor), most
        while stop is None or not stop.is_set():
            try:
                page = self._page(position, min(limit, remaining or limit), interval, stop)
            except _StopRequestedError:
                return
            if page.missed:
                log.warning(
                    "feed %s dropped %d transaction(s) from its retention before we read them",
                    self.url,
                    page.missed,
                )
            position = page.cursor
            if len(page.records):
                if remaining is not None:
                    remaining -= len(page.records)
                yield page.records
            if page.exhausted:
                log.info("feed %s is exhausted at cursor %d", self.url, position)
                return

    def _poll_current(
        self, interval: float, stop: threading.Event | None
    ) -> Iterator[pd.DataFrame]:
        seen = _RecentKeys(SEEN_MEMORY)
        while stop is None or not stop.is_set():
            try:
                frame = self._current(None, stop)
            except _StopRequestedError:
                return
            if "trans_num" in frame.columns:
                frame = frame[seen.mark_new(frame["trans_num"].tolist())]
            if len(frame):
                yield frame
            if stop is not None:
                if stop.wait(interval):
                    return
            else:
                time.sleep(interval)

    def _current(self, n: int | None, stop: threading.Event | None) -> pd.DataFrame:
        params = None if n is None else {"n": n}
        return decode_feed_payload(self._get_json(self._current_url, params, stop=stop))

    def _page(self, cursor: int, limit: int, wait: float, stop: threading.Event | None) -> FeedPage:
        if self._jedha_style:
            raise FeedError(
                f"{self.url} is a Jedha-style endpoint without the cursor API; use "
                "current_transactions() or poll()",
                url=self.url,
            )
        wait = min(max(wait, 0.0), _MAX_WAIT)
        params = {"after": cursor, "limit": limit, "wait": wait}
        answer = self._get_json(self._cursor_url, params, extra_timeout=wait, stop=stop)
        try:
            page = FeedPage(
                records=decode_feed_payload(answer),
                cursor=int(answer["cursor"]),
                missed=int(answer.get("missed", 0)),
                exhausted=bool(answer.get("exhausted", False)),
            )
        except (TypeError, KeyError, ValueError, AttributeError) as error:
            raise FeedError(f"{self._cursor_url} answered an unexpected page: {error!r}") from error
        self.last_cursor = page.cursor
        return page

    # -- transport -------------------------------------------------------------------------

    def _get_json(
        self,
        url: str,
        params: Mapping[str, Any] | None,
        *,
        extra_timeout: float = 0.0,
        stop: threading.Event | None,
    ) -> Any:
        """GET with retries on network errors, timeouts, 5xx and 429; 4xx raise at once."""

        def attempt() -> Any:
            response = self._http.get(url, params=params, timeout=self.timeout + extra_timeout)
            if response.is_success:
                return _json_body(response, url)
            status = response.status_code
            problem = f"HTTP {status}: {_error_message(response)}"
            if status < 500 and status != 429:  # our mistake: no retry cures it
                raise FeedError(f"{url} answered {problem}", url=url, status_code=status)
            raise _RetryableAnswerError(problem, status)

        def wait(seconds: float) -> None:
            if stop is None:
                time.sleep(seconds)
            elif stop.wait(seconds):
                raise _StopRequestedError

        try:
            return retry_call(
                attempt,
                retry_if=lambda error: isinstance(error, _RETRIED),
                what=f"feed request to {url}",
                logger=log,
                attempts=self.retries + 1,
                base_delay=self.backoff,
                max_delay=DEFAULT_MAX_DELAY,
                describe=_problem,
                sleep=wait,
            )
        except _RETRIED as error:
            status = error.status_code if isinstance(error, _RetryableAnswerError) else None
            raise FeedError(
                f"feed {url} failed after {self.retries + 1} attempt(s): {_problem(error)}",
                url=url,
                status_code=status,
            ) from error


def _problem(error: BaseException) -> str:
    """What went wrong, for the retry warnings and the final error."""
    if isinstance(error, _RetryableAnswerError):
        return str(error)
    return f"{type(error).__name__}: {error}".rstrip(": ")


def _json_body(response: httpx.Response, url: str) -> Any:
    try:
        return response.json()
    except ValueError as error:
        snippet = redact_pans(response.text)[:_SNIPPET]  # mask first: a cut PAN is not seen
        raise FeedError(
            f"{url} answered HTTP {response.status_code} with a body that is not JSON: {snippet!r}",
            url=url,
            status_code=response.status_code,
        ) from error


def _error_message(response: httpx.Response) -> str:
    """The server's own explanation: FastAPI's ``detail`` (422 lists name each parameter)."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, Mapping):
                where = ".".join(str(part) for part in item.get("loc", ())[1:]) or "request"
                parts.append(f"{where}: {item.get('msg', item)}")
        detail = "; ".join(parts) or None
    text = str(detail) if detail else (response.text.strip() or response.reason_phrase)
    return redact_pans(text)[:_SNIPPET]
