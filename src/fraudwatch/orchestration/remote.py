"""Scoring through the scoring API (``POST /v1/score/batch``) instead of in-process.

Useful when one API process holds the model and the per-card state for everyone (the
pipeline, the DAG, other callers): the DAG then only fetches and stores. Batches go out in
request-sized chunks (the server answers 413 above its limit, and the chunk is split), the
key travels in ``X-API-Key``, network trouble and 5xx answers are retried with backoff,
and any other 4xx fails at once with the server's message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import httpx

from fraudwatch.errors import FraudwatchError
from fraudwatch.privacy import redact_pans
from fraudwatch.retry import DEFAULT_MAX_DELAY, retry_call

log = logging.getLogger(__name__)

BATCH_PATH = "/v1/score/batch"
#: The API's default batch limit (``fraudwatch.api.app``); a smaller server limit is met by
#: splitting on 413.
DEFAULT_CHUNK = 1000
_MESSAGE_CHARS = 300


class ScoringApiError(FraudwatchError, RuntimeError):
    """The scoring API refused a batch or could not be reached."""


class ScoringApiClient:
    """A client of ``POST /v1/score/batch`` that returns one result per record, in order."""

    def __init__(
        self,
        url: str,
        api_key: str | None,
        *,
        chunk: int = DEFAULT_CHUNK,
        timeout: float = 60.0,
        retries: int = 4,
        backoff: float = 0.5,
        max_delay: float = DEFAULT_MAX_DELAY,
        http: httpx.Client | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.chunk, self.retries, self.backoff = chunk, retries, backoff
        self.max_delay = max_delay
        headers = {"X-API-Key": api_key} if api_key else {}
        self._http = http or httpx.Client(timeout=timeout)
        self._headers = headers
        self._owns_http = http is None

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
        """Release the connection pool (unless it was handed in)."""
        if self._owns_http:
            self._http.close()

    def score(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The API's result for each record (``trans_num``, ``fraud_probability``, ...)."""
        results: list[dict[str, Any]] = []
        for start in range(0, len(records), self.chunk):
            results.extend(self._score_chunk(list(records[start : start + self.chunk])))
        return results

    def _score_chunk(self, records: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        response = self._post({"transactions": records})
        if response.status_code == 413 and len(records) > 1:  # the server's limit is lower
            half = len(records) // 2
            return self._score_chunk(records[:half]) + self._score_chunk(records[half:])
        if not response.is_success:
            raise ScoringApiError(
                f"{self.url}{BATCH_PATH} answered HTTP {response.status_code}: {_message(response)}"
            )
        results: list[dict[str, Any]] = response.json()["results"]
        if len(results) != len(records):
            raise ScoringApiError(
                f"{self.url}{BATCH_PATH} answered {len(results)} results for {len(records)} "
                "transactions"
            )
        return results

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        """POST with retries on network errors, 5xx and 429 (:mod:`fraudwatch.retry`)."""

        def attempt() -> httpx.Response:
            response = self._http.post(self.url + BATCH_PATH, json=body, headers=self._headers)
            if response.status_code < 500 and response.status_code != 429:
                return response
            raise ScoringApiError(f"HTTP {response.status_code}: {_message(response)}")

        try:
            return retry_call(
                attempt,
                retry_if=lambda error: isinstance(error, httpx.TransportError | ScoringApiError),
                what=f"scoring API {self.url}",
                logger=log,
                attempts=self.retries + 1,
                base_delay=self.backoff,
                max_delay=self.max_delay,
                describe=_problem,
            )
        except (httpx.TransportError, ScoringApiError) as error:
            raise ScoringApiError(
                f"scoring API {self.url} failed after {self.retries + 1} attempts: "
                f"{redact_pans(_problem(error))}"
            ) from None


def _problem(error: BaseException) -> str:
    """What went wrong: the answer's status and message, or the connection's failure."""
    if isinstance(error, ScoringApiError):
        return str(error)
    return f"{type(error).__name__}: {error}".rstrip(": ")


def _message(response: httpx.Response) -> str:
    """The API's own explanation (``message``/``detail``), short and with card numbers masked.

    Never the request body; but a server (or a proxy before it) may echo a record, so the
    text is masked before it is cut (a cut PAN would no longer look like one).
    """
    try:
        body = response.json()
    except ValueError:
        text = response.text or response.reason_phrase
    else:
        if isinstance(body, Mapping):
            text = str(body.get("message") or body.get("detail") or body)
        else:
            text = str(body)
    return redact_pans(text)[:_MESSAGE_CHARS]
