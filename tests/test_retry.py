"""One retry policy (:mod:`fraudwatch.retry`), and the three callers that follow it.

The database, the feed client and the scoring-API client are each driven into retries
here; one helper reads their warnings and checks the same rule on all three: exponential
backoff from the caller's base delay, a random factor in [0.5, 1.5], never above the cap,
and the error text masked.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from fraudwatch.orchestration.remote import ScoringApiClient, ScoringApiError
from fraudwatch.retry import backoff_delay, retry_call
from fraudwatch.sinks.database import with_retry
from fraudwatch.sources.feed_client import FeedClient, FeedError
from tests.sources.test_feed import scripted_server

PAN = "4111111111111111"  # a test card number (Luhn-valid)
MASKED_PAN = "411111******1111"
_RETRY_LINE = re.compile(
    r"^(?P<what>.+) failed \(attempt (?P<n>\d+) of (?P<of>\d+), retrying in (?P<delay>[\d.]+) s\)"
    r": (?P<text>.*)$"
)


def retry_warnings(caplog: pytest.LogCaptureFixture) -> list[re.Match[str]]:
    """The retry warnings logged, parsed; every WARNING must be one."""
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    matches = [_RETRY_LINE.match(line) for line in lines]
    assert all(matches), lines
    return [match for match in matches if match]


def assert_the_one_policy(
    caplog: pytest.LogCaptureFixture, *, base: float, cap: float, attempts: int
) -> list[float]:
    """Each retry waited base * 2**(n-1) * U(0.5, 1.5), at most ``cap``; the text is masked."""
    warnings = retry_warnings(caplog)
    assert [int(w["n"]) for w in warnings] == list(range(1, attempts))
    assert {int(w["of"]) for w in warnings} == {attempts}
    delays = [float(w["delay"]) for w in warnings]
    for n, delay in enumerate(delays, start=1):
        nominal = base * 2 ** (n - 1)
        assert min(cap, 0.5 * nominal) - 0.005 <= delay <= min(cap, 1.5 * nominal) + 0.005
    assert PAN not in caplog.text
    return delays


# -- the policy ------------------------------------------------------------------------------


def test_backoff_grows_exponentially_with_jitter_and_a_hard_cap() -> None:
    for attempt in range(1, 12):
        delays = {backoff_delay(attempt, 0.5, 20.0) for _ in range(50)}
        nominal = 0.5 * 2 ** (attempt - 1)
        assert all(min(20.0, 0.5 * nominal) <= d <= min(20.0, 1.5 * nominal) for d in delays)
        if nominal < 10:
            assert len(delays) > 1  # jittered: processes that failed together spread out
    assert backoff_delay(30, 0.5, 20.0) == 20.0


def test_a_total_time_bound_stops_before_a_wait_would_pass_it() -> None:
    calls: list[float] = []

    def down() -> None:
        calls.append(time.monotonic())
        raise ConnectionError("refused")

    started = time.monotonic()
    with pytest.raises(ConnectionError):
        retry_call(
            down,
            retry_if=lambda _: True,
            what="test",
            logger=logging.getLogger("tests"),
            attempts=1_000,
            base_delay=0.05,
            max_delay=0.05,
            give_up_after=0.3,
        )
    assert time.monotonic() - started < 0.3
    assert 3 <= len(calls) < 20


def test_errors_not_worth_retrying_propagate_at_once_and_attempts_are_checked() -> None:
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise KeyError("bug")

    kwargs = {"what": "test", "logger": logging.getLogger("tests"), "base_delay": 0.0}
    with pytest.raises(KeyError):
        retry_call(broken, retry_if=lambda e: isinstance(e, OSError), attempts=5, **kwargs)
    assert calls == [1]
    with pytest.raises(ValueError, match="attempts"):
        retry_call(broken, retry_if=lambda _: True, attempts=0, **kwargs)


# -- the three callers -----------------------------------------------------------------------


def test_the_database_retries_by_the_policy(caplog: pytest.LogCaptureFixture) -> None:
    url = "postgresql+psycopg://fraud:top-secret-pw@db.example.com/fw"
    calls: list[int] = []
    slept: list[float] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 5:
            detail = f"server closed the connection (top-secret-pw, card {PAN})"
            raise OperationalError("SELECT 1", {}, Exception(detail))
        return "done"

    with caplog.at_level(logging.WARNING):
        assert with_retry(flaky, attempts=5, base_delay=4.0, url=url, sleep=slept.append) == "done"
    delays = assert_the_one_policy(caplog, base=4.0, cap=10.0, attempts=5)
    assert [round(d, 2) for d in slept] == delays
    assert delays[-1] == 10.0  # 4 * 2**3 * >= 0.5 = 16 s, capped at 10 s
    assert "top-secret-pw" not in caplog.text
    assert MASKED_PAN in caplog.text


def test_the_feed_client_retries_by_the_policy(caplog: pytest.LogCaptureFixture) -> None:
    failure = json.dumps({"detail": f"upstream choked on card {PAN}"})
    with scripted_server((503, failure, 0)) as server:
        url = f"{server.url}/current-transactions"
        with (
            caplog.at_level(logging.WARNING),
            FeedClient(url, retries=3, backoff=0.05) as client,
            pytest.raises(FeedError) as raised,
        ):
            client.current_transactions()
        assert server.hits == 4
    assert_the_one_policy(caplog, base=0.05, cap=30.0, attempts=4)
    assert PAN not in str(raised.value)
    assert MASKED_PAN in str(raised.value)


def _scoring_api(status: int, body: dict[str, object], hits: list[int]) -> httpx.Client:
    """An HTTP client whose every POST answers ``status`` with ``body``."""

    def answer(request: httpx.Request) -> httpx.Response:
        hits.append(1)
        return httpx.Response(status, json=body)

    return httpx.Client(transport=httpx.MockTransport(answer))


def test_the_scoring_api_client_retries_by_the_policy_capped_and_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The server's error text may echo a record: its card number never reaches log nor error."""
    hits: list[int] = []
    body = {"detail": f"cannot score card {PAN}"}
    with (
        _scoring_api(503, body, hits) as http,
        ScoringApiClient(
            "http://api.test", "key", retries=5, backoff=0.05, max_delay=0.12, http=http
        ) as api,
        caplog.at_level(logging.WARNING),
        pytest.raises(ScoringApiError) as raised,
    ):
        api.score([{"trans_num": "t1"}])
    assert len(hits) == 6
    delays = assert_the_one_policy(caplog, base=0.05, cap=0.12, attempts=6)
    assert delays[-1] == 0.12  # 0.05 * 2**4 * >= 0.5 = 0.4 s uncapped
    assert "http://api.test" in retry_warnings(caplog)[0]["what"]
    assert PAN not in str(raised.value)
    assert MASKED_PAN in str(raised.value)
    assert "6 attempts" in str(raised.value)


def test_the_scoring_api_client_masks_a_refusal_and_does_not_retry_it() -> None:
    hits: list[int] = []
    with (
        _scoring_api(400, {"message": f"bad card {PAN}"}, hits) as http,
        ScoringApiClient("http://api.test", None, backoff=0.05, http=http) as api,
        pytest.raises(ScoringApiError, match="HTTP 400") as raised,
    ):
        api.score([{"trans_num": "t1"}])
    assert hits == [1]
    assert PAN not in str(raised.value)
    assert MASKED_PAN in str(raised.value)


def test_a_stop_event_ends_the_feed_clients_wait_between_attempts() -> None:
    """The caller's stop event cuts a retry wait short: polling ends at once, no error."""
    with socket.socket() as nobody:
        nobody.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        url = f"http://127.0.0.1:{nobody.getsockname()[1]}/current-transactions"
        stop = threading.Event()
        timer = threading.Timer(0.3, stop.set)
        with FeedClient(url, retries=5, backoff=2.0) as client:
            started = time.monotonic()
            timer.start()
            batches = list(client.poll(interval=0.1, stop=stop))
            elapsed = time.monotonic() - started
        timer.join()
    assert batches == []
    assert elapsed < 1.0  # the first wait alone is at least 1 s
