"""The live feed over real sockets: Jedha's exact answer, a lossless cursor API, a robust client."""

from __future__ import annotations

import io
import itertools
import json
import logging
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from fraudwatch.schema import FEED_COLUMNS, validate_batch
from fraudwatch.sources.csv_file import read_transactions
from fraudwatch.sources.feed_client import FeedClient, FeedError, decode_feed_payload
from fraudwatch.sources.feed_publisher import FeedPublisher
from fraudwatch.sources.feed_server import running_feed_server

FIXTURE = Path(__file__).parents[1] / "fixtures" / "kaggle_fraudTest_head.csv"
ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def source_rows() -> pd.DataFrame:
    return pd.concat(list(read_transactions(FIXTURE)), ignore_index=True)


@pytest.fixture(scope="module")
def fixture_pans(source_rows: pd.DataFrame) -> frozenset[str]:
    return frozenset(source_rows["cc_num"])


def fixture_chunks(limit: int | None = None) -> Iterator[pd.DataFrame]:
    """The fixture in several chunks, as a big file would arrive."""
    return read_transactions(FIXTURE, chunk_rows=700, limit=limit)


def pans_in(text: str, pans: frozenset[str]) -> set[str]:
    """Full card numbers from ``pans`` that occur anywhere in ``text``."""
    found = set()
    for run in re.findall(r"\d{12,}", text):
        for size in range(12, 20):
            found |= {run[i : i + size] for i in range(len(run) - size + 1)} & pans
    return found


@pytest.fixture(autouse=True)
def _no_leftovers_and_no_pans_logged(
    caplog: pytest.LogCaptureFixture, fixture_pans: frozenset[str]
) -> Iterator[None]:
    before = set(threading.enumerate())
    caplog.set_level(logging.DEBUG)
    yield
    deadline = time.monotonic() + 3.0
    while left := [t for t in threading.enumerate() if t not in before and t.is_alive()]:
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert not left, f"threads left running: {[t.name for t in left]}"
    assert not pans_in(caplog.text, fixture_pans), "a full card number was logged"


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@contextmanager
def live_feed(
    source: Any, *, rate: float, retention: int = 100_000, first_wait: float = 2.0
) -> Iterator[tuple[FeedPublisher, httpx.Client]]:
    """A publisher and its server on an ephemeral port, with an HTTP client bound to it."""
    publisher = FeedPublisher(source, rate=rate, retention=retention)
    with (
        running_feed_server(publisher, first_wait=first_wait) as url,
        httpx.Client(base_url=url, timeout=15) as http,
    ):
        yield publisher, http


def trans_nums(records: list[dict[str, Any]]) -> list[str]:
    return [record["trans_num"] for record in records]


def reject_constant(name: str) -> None:
    raise ValueError(f"non-standard JSON constant {name}")


# -- the Jedha endpoint ------------------------------------------------------------------


def test_current_transactions_is_the_jedha_double_encoded_split_frame(
    source_rows: pd.DataFrame,
) -> None:
    with live_feed(fixture_chunks(), rate=50_000) as (publisher, http):
        wait_until(lambda: publisher.exhausted)
        response = http.get("/current-transactions")
        five = http.get("/current-transactions", params={"n": 5})
        thousand = http.get("/current-transactions", params={"n": 1000})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, str)
    inner = json.loads(body, parse_constant=reject_constant)
    assert list(inner) == ["columns", "index", "data"]
    assert inner["columns"] == list(FEED_COLUMNS)
    assert len(inner["data"]) == len(inner["index"]) == 1
    row = dict(zip(inner["columns"], inner["data"][0], strict=True))
    newest = source_rows.iloc[-1]
    assert row["trans_num"] == newest["trans_num"]
    assert row["cc_num"] == int(newest["cc_num"])
    assert row["merchant"] == newest["merchant"]
    assert row["amt"] == newest["amt"]
    for name in ("cc_num", "zip", "city_pop", "is_fraud", "current_time"):
        assert type(row[name]) is int, name
    for name in ("amt", "lat", "long", "merch_lat", "merch_long"):
        assert type(row[name]) is float, name
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["dob"])
    assert abs(row["current_time"] - time.time() * 1000) < 60_000

    frame = pd.read_json(io.StringIO(body), orient="split")
    assert list(frame.columns) == list(FEED_COLUMNS)
    assert len(frame) == 1

    five_rows = decode_feed_payload(five.json())
    assert five_rows["trans_num"].tolist() == source_rows["trans_num"].iloc[-5:].tolist()

    newest_thousand = decode_feed_payload(thousand.json())
    expected = source_rows.iloc[-1000:]
    assert newest_thousand["trans_num"].tolist() == expected["trans_num"].tolist()
    assert newest_thousand["merchant"].tolist() == expected["merchant"].tolist()
    assert newest_thousand["job"].tolist() == expected["job"].tolist()
    assert newest_thousand["cc_num"].astype(str).tolist() == expected["cc_num"].tolist()
    checked = validate_batch(newest_thousand)
    assert checked.rejected == []
    assert len(checked.valid) == 1000
    assert (checked.valid["is_fraud"] == expected["is_fraud"].to_numpy()).all()


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/current-transactions", {"n": 0}, "n"),
        ("/current-transactions", {"n": 1001}, "n"),
        ("/current-transactions", {"n": "five"}, "n"),
        ("/v1/transactions", {"after": -1}, "after"),
        ("/v1/transactions", {"limit": 0}, "limit"),
        ("/v1/transactions", {"limit": 10_001}, "limit"),
        ("/v1/transactions", {"wait": -1}, "wait"),
        ("/v1/transactions", {"wait": 31}, "wait"),
    ],
)
def test_invalid_query_parameters_are_422_naming_the_parameter(
    path: str, params: dict[str, Any], name: str
) -> None:
    with live_feed(fixture_chunks(limit=3), rate=1000) as (_, http):
        response = http.get(path, params=params)
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["query", name]]


def test_current_transactions_waits_briefly_then_503_before_the_first_one() -> None:
    release = threading.Event()

    def late_source() -> Iterator[pd.DataFrame]:
        release.wait(10)
        yield from fixture_chunks(limit=3)

    with live_feed(late_source(), rate=1000, first_wait=0.3) as (_, http):
        try:
            started = time.monotonic()
            early = http.get("/current-transactions")
            waited = time.monotonic() - started
            health = http.get("/health").json()
            release.set()
            later = http.get("/current-transactions")
        finally:
            release.set()
    assert early.status_code == 503
    assert 0.25 <= waited < 3
    assert "no transaction published yet" in early.json()["detail"]
    assert early.headers["retry-after"] == "1"
    assert health["status"] == "waiting"
    assert health["published"] == 0
    assert later.status_code == 200


def test_an_empty_source_answers_503_at_once() -> None:
    with live_feed(iter([]), rate=10, first_wait=5) as (publisher, http):
        wait_until(lambda: publisher.exhausted)
        started = time.monotonic()
        response = http.get("/current-transactions")
        assert time.monotonic() - started < 2
        health = http.get("/health").json()
    assert response.status_code == 503
    assert "empty" in response.json()["detail"]
    assert health["exhausted"] is True
    assert health["status"] == "exhausted"


def test_served_values_are_json_safe_and_typed_like_jedha() -> None:
    frame = pd.DataFrame(
        {
            "cc_num": np.array([4992346398065154184, 30263540414123, 4000000000000002]),
            "merchant": ["fraud_Kub, Smith and Co", None, "fraud_Bins"],
            "category": ["misc_net", "travel", "grocery_pos"],
            "amt": [np.float64(12.5), np.nan, np.inf],
            "first": ["Ann", "Bob", "Cy"],
            "last": ["Lee", "Ray", "Oh"],
            "gender": ["F", "M", "M"],
            "street": ["1 A St", "2 B St", "3 C St"],
            "city": ["X", "Y", "Z"],
            "state": ["MA", "NY", "CA"],
            "zip": ["01234", "98765", None],
            "lat": np.array([40.5, 41.0, 42.0], dtype=np.float32),
            "long": [-70.0, -71.0, -72.0],
            "city_pop": pd.array([100, None, 3], dtype="Int64"),
            "job": ["Engineer, civil", "Nurse", "Chef"],
            "dob": [pd.Timestamp("1980-05-01"), "1990-01-02", "1970-01-01 00:00:00"],
            "trans_num": ["t1", "t2", "t3"],
            "merch_lat": [40.6, 41.1, 42.1],
            "merch_long": [-70.1, -71.1, -72.1],
            "is_fraud": [1.0, 0.0, 1.0],
            "fraud_scenario": ["card_testing", "", "account_takeover"],
        }
    )
    with live_feed(iter([frame]), rate=1e6) as (publisher, http):
        wait_until(lambda: publisher.exhausted)
        page = http.get("/v1/transactions")
        current = http.get("/current-transactions", params={"n": 3})

    answer = json.loads(page.text, parse_constant=reject_constant)
    json.loads(current.json(), parse_constant=reject_constant)
    first, second, third = answer["records"]
    assert list(first) == list(FEED_COLUMNS)
    assert first["cc_num"] == 4992346398065154184
    assert (first["amt"], second["amt"], third["amt"]) == (12.5, None, None)
    assert second["merchant"] is None
    assert (first["zip"], third["zip"]) == (1234, None)
    assert (first["city_pop"], second["city_pop"]) == (100, None)
    assert (first["dob"], second["dob"], third["dob"]) == ("1980-05-01", "1990-01-02", "1970-01-01")
    assert first["is_fraud"] == 1 and type(first["is_fraud"]) is int
    assert first["lat"] == 40.5

    checked = validate_batch(decode_feed_payload(answer))
    assert checked.valid["trans_num"].tolist() == ["t1"]
    assert [r.fields for r in checked.rejected] == [{"merchant", "amt", "city_pop"}, {"amt"}]


def test_a_failing_source_ends_the_feed_and_health_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def failing_source() -> Iterator[pd.DataFrame]:
        yield from fixture_chunks(limit=5)
        raise OSError("disk vanished")

    with live_feed(failing_source(), rate=1e6) as (publisher, http):
        wait_until(lambda: publisher.exhausted)
        health = http.get("/health").json()
        page = http.get("/v1/transactions").json()
    assert health["status"] == "failed"
    assert health["error"] == "OSError: disk vanished"
    assert (len(page["records"]), page["cursor"], page["exhausted"]) == (5, 5, True)
    assert any(r.levelno == logging.ERROR and "disk vanished" in r.message for r in caplog.records)


# -- the cursor API ----------------------------------------------------------------------


def test_a_cursor_poller_sees_every_transaction_exactly_once_in_order(
    source_rows: pd.DataFrame,
) -> None:
    limits = itertools.cycle([1, 7, 250, 1000, 3])
    waits = itertools.cycle([0, 0.5, 0])
    received: list[str] = []
    cursor = calls = 0
    with live_feed(fixture_chunks(), rate=20_000) as (_, http):
        while True:
            params = {"after": cursor, "limit": next(limits), "wait": next(waits)}
            answer = http.get("/v1/transactions", params=params).json()
            assert list(answer) == ["records", "cursor", "missed", "exhausted"]
            assert answer["missed"] == 0
            assert len(answer["records"]) <= params["limit"]
            assert answer["cursor"] == cursor + len(answer["records"])
            assert all(list(record) == list(FEED_COLUMNS) for record in answer["records"])
            received += trans_nums(answer["records"])
            cursor = answer["cursor"]
            calls += 1
            if answer["exhausted"]:
                break
            assert calls < 20_000
    assert received == source_rows["trans_num"].tolist()
    assert cursor == len(source_rows)


def test_a_long_poll_waits_for_the_next_transaction(source_rows: pd.DataFrame) -> None:
    with live_feed(fixture_chunks(limit=6), rate=5) as (publisher, http):
        wait_until(lambda: publisher.published >= 1)
        received: list[str] = []
        cursor = 0
        answers = []
        while True:
            started = time.monotonic()
            params = {"after": cursor, "limit": 1, "wait": 5}
            answer = http.get("/v1/transactions", params=params).json()
            answers.append((answer, time.monotonic() - started))
            received += trans_nums(answer["records"])
            cursor = answer["cursor"]
            if answer["exhausted"]:
                break
            assert len(answers) < 20
        started = time.monotonic()
        after_end = http.get("/v1/transactions", params={"after": cursor, "wait": 5}).json()
        after_end_seconds = time.monotonic() - started

    assert received == source_rows["trans_num"].iloc[:6].tolist()
    # Until the end every long-poll returned a record: none came back empty after waiting.
    assert all(answer["records"] for answer, _ in answers[:6])
    assert all(seconds < 2 for _, seconds in answers)
    assert max(seconds for _, seconds in answers) > 0.1  # it did wait for publications
    assert after_end == {"records": [], "cursor": 6, "missed": 0, "exhausted": True}
    assert after_end_seconds < 1


def test_missed_counts_what_retention_dropped(source_rows: pd.DataFrame) -> None:
    expected = source_rows["trans_num"].tolist()
    with live_feed(fixture_chunks(limit=1000), rate=1e6, retention=100) as (publisher, http):
        wait_until(lambda: publisher.exhausted)
        from_start = http.get("/v1/transactions", params={"after": 0}).json()
        recent = http.get("/v1/transactions", params={"after": 950, "limit": 10}).json()
        one_lost = http.get("/v1/transactions", params={"after": 899, "limit": 5}).json()
        newest = http.get("/current-transactions", params={"n": 1000}).json()
        ahead = http.get("/v1/transactions", params={"after": 1001})
        health = http.get("/health").json()

    assert from_start["missed"] == 900
    assert trans_nums(from_start["records"]) == expected[900:1000]
    assert (from_start["cursor"], from_start["exhausted"]) == (1000, True)
    assert (recent["missed"], recent["cursor"], recent["exhausted"]) == (0, 960, False)
    assert trans_nums(recent["records"]) == expected[950:960]
    assert (one_lost["missed"], one_lost["cursor"]) == (1, 905)
    assert len(decode_feed_payload(newest)) == 100
    assert ahead.status_code == 409
    assert "ahead" in ahead.json()["detail"]
    assert health["published"] == 1000
    assert (health["oldest_cursor"], health["cursor"]) == (901, 1000)
    assert health["status"] == "exhausted"


def test_publisher_paces_by_absolute_schedule_and_stops_cleanly() -> None:
    started = time.monotonic()
    with FeedPublisher(fixture_chunks(), rate=40) as publisher:
        time.sleep(0.5)
        published = publisher.published
        elapsed = time.monotonic() - started
        stamps = [t.record()["current_time"] for t in publisher.latest(published)]
    # One at once, then one every 25 ms: never ahead of the schedule, and not far behind.
    assert (elapsed - 0.2) * 40 <= published <= elapsed * 40 + 1
    assert stamps == sorted(stamps)
    expected_spread_ms = (len(stamps) - 1) * 1000 / 40
    assert expected_spread_ms - 60 <= stamps[-1] - stamps[0] <= expected_spread_ms + 250
    assert publisher.exhausted
    assert publisher.status().status == "stopped"
    assert publisher.published == published  # nothing after stop

    with FeedPublisher(fixture_chunks(), rate=0.5) as slow:
        time.sleep(0.3)
        assert slow.published == 1

    with pytest.raises(ValueError, match="rate"):
        FeedPublisher(iter([]), rate=0)
    with pytest.raises(ValueError, match="retention"):
        FeedPublisher(iter([]), rate=1, retention=0)


def test_stop_wakes_a_waiting_reader() -> None:
    with FeedPublisher(fixture_chunks(), rate=0.2) as publisher:
        wait_until(lambda: publisher.published == 1)
        results = []
        reader = threading.Thread(target=lambda: results.append(publisher.read_after(1, 10, 20)))
        reader.start()
        time.sleep(0.2)
        started = time.monotonic()
        publisher.stop()
        reader.join(5)
    assert time.monotonic() - started < 2
    assert results[0].transactions == []
    assert results[0].exhausted


def test_server_shutdown_ends_pending_long_polls_promptly() -> None:
    results: list[httpx.Response] = []
    with live_feed(fixture_chunks(), rate=0.2) as (publisher, http):
        wait_until(lambda: publisher.published == 1)
        params = {"after": 1, "wait": 20}

        def long_poll() -> None:
            with httpx.Client(base_url=http.base_url, timeout=30) as own:
                results.append(own.get("/v1/transactions", params=params))

        poller = threading.Thread(target=long_poll)
        poller.start()
        time.sleep(0.3)
        started = time.monotonic()
    poller.join(5)
    assert time.monotonic() - started < 3
    assert results[0].json() == {"records": [], "cursor": 1, "missed": 0, "exhausted": True}


# -- the client --------------------------------------------------------------------------


def test_decode_feed_payload_accepts_every_form(source_rows: pd.DataFrame) -> None:
    with live_feed(fixture_chunks(limit=30), rate=1e6) as (publisher, http):
        wait_until(lambda: publisher.exhausted)
        jedha = http.get("/current-transactions", params={"n": 3})
        ours = http.get("/v1/transactions", params={"after": 27}).json()

    expected = source_rows["trans_num"].iloc[27:30].tolist()
    forms = {
        "raw body": jedha.text,
        "raw bytes": jedha.content,
        "JSON string": jedha.json(),
        "split dict": json.loads(jedha.json()),
        "record list": ours["records"],
        "cursor answer": ours,
    }
    for form, payload in forms.items():
        frame = decode_feed_payload(payload)
        assert list(frame.columns) == list(FEED_COLUMNS), form
        assert frame["trans_num"].tolist() == expected, form
        assert frame["cc_num"].tolist() == [int(p) for p in source_rows["cc_num"].iloc[27:30]]
        assert validate_batch(frame).rejected == [], form

    empty = decode_feed_payload({"records": [], "cursor": 5, "missed": 0, "exhausted": False})
    assert list(empty.columns) == list(FEED_COLUMNS) and len(empty) == 0
    # A null beside 19-digit card numbers must not turn them into rounded floats.
    mixed = decode_feed_payload([{"cc_num": 4992346398065154184}, {"cc_num": None}])
    assert mixed["cc_num"].tolist()[0] == 4992346398065154184

    # a lone surrogate is legal JSON but no UTF-8: its record is rejected, nothing crashes
    body = json.loads(jedha.json())
    body["data"][0][body["columns"].index("merchant")] = "fraud_\ud800"
    odd = decode_feed_payload(json.dumps(body))
    checked = validate_batch(odd)
    assert len(checked.valid) == 2 and [r.fields for r in checked.rejected] == [{"merchant"}]

    for bad in ("not json", 42, {"foo": 1}, {"columns": ["a"], "data": [[1, 2]]}, [1, 2]):
        with pytest.raises(FeedError):
            decode_feed_payload(bad)


def test_client_works_unchanged_with_a_jedha_style_url(source_rows: pd.DataFrame) -> None:
    expected = source_rows["trans_num"].tolist()
    with live_feed(fixture_chunks(limit=50), rate=1e6) as (publisher, http):
        wait_until(lambda: publisher.exhausted)
        base = str(http.base_url).rstrip("/")
        with FeedClient(f"{base}/current-transactions") as jedha:
            assert not jedha.supports_cursor()
            newest = jedha.current_transactions()
            with pytest.raises(FeedError, match="cursor API"):
                jedha.transactions_since(0)
        with FeedClient(base + "/") as ours:
            assert ours.supports_cursor()
            five = ours.current_transactions(5)
            first = ours.transactions_since(0, limit=20)
            last = ours.transactions_since(40, limit=20, wait=1)
            health = ours.health()
            with pytest.raises(FeedError, match=r"422.*n: ") as too_many:
                ours.current_transactions(5000)

    assert list(newest.columns) == list(FEED_COLUMNS)
    assert newest["trans_num"].tolist() == [expected[49]]
    assert five["trans_num"].tolist() == expected[45:50]
    assert first.records["trans_num"].tolist() == expected[:20]
    assert (first.cursor, first.missed, first.exhausted) == (20, 0, False)
    assert last.records["trans_num"].tolist() == expected[40:50]
    assert (last.cursor, last.exhausted) == (50, True)
    assert health["published"] == 50
    assert too_many.value.status_code == 422


def test_poll_over_the_jedha_endpoint_drops_repeats(source_rows: pd.DataFrame) -> None:
    expected = source_rows["trans_num"].iloc[:10].tolist()
    received: list[str] = []
    stop = threading.Event()
    safety = threading.Timer(4.0, stop.set)
    with live_feed(fixture_chunks(limit=10), rate=10) as (_, http):
        url = f"{str(http.base_url).rstrip('/')}/current-transactions"
        safety.start()
        try:
            with FeedClient(url) as client:
                for batch in client.poll(interval=0.02, stop=stop):
                    received += batch["trans_num"].tolist()
                    if len(received) >= len(expected):
                        stop.set()
        finally:
            safety.cancel()
            safety.join()
    assert len(received) == len(set(received)), "a repeated transaction was yielded"
    assert len(received) >= 7  # polled every 20 ms, one new transaction every 100 ms
    assert received == [t for t in expected if t in set(received)]  # source order


def test_poll_with_the_cursor_api_yields_everything_once_then_ends(
    source_rows: pd.DataFrame,
) -> None:
    with live_feed(fixture_chunks(limit=600), rate=3000) as (_, http):
        with FeedClient(str(http.base_url)) as client:
            batches = list(client.poll(interval=0.2, limit=64))
            last_cursor = client.last_cursor
        frame = pd.concat(batches, ignore_index=True)
    assert frame["trans_num"].tolist() == source_rows["trans_num"].iloc[:600].tolist()
    assert all(len(batch) <= 64 for batch in batches)
    assert last_cursor == 600
    assert validate_batch(frame).rejected == []


def test_poll_returns_soon_after_stop_is_set() -> None:
    stop = threading.Event()
    with live_feed(fixture_chunks(), rate=2) as (_, http), FeedClient(str(http.base_url)) as client:
        timer = threading.Timer(0.5, stop.set)
        timer.start()
        started = time.monotonic()
        batches = list(client.poll(interval=0.2, stop=stop))
        elapsed = time.monotonic() - started
        timer.join()
    assert 0.4 <= elapsed < 1.5
    assert 1 <= sum(len(batch) for batch in batches) <= 3


def test_client_retries_until_the_server_comes_up(caplog: pytest.LogCaptureFixture) -> None:
    placeholder = socket.socket()
    placeholder.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    port = placeholder.getsockname()[1]
    results: list[object] = []

    def fetch() -> None:
        with FeedClient(f"http://127.0.0.1:{port}", retries=6, backoff=0.2) as client:
            try:
                results.append(client.current_transactions())
            except FeedError as error:
                results.append(error)

    fetcher = threading.Thread(target=fetch)
    fetcher.start()
    time.sleep(1.0)
    placeholder.close()
    with running_feed_server(fixture_chunks(limit=5), port=port, rate=1000):
        fetcher.join(15)
    assert isinstance(results[0], pd.DataFrame)
    assert len(results[0]) == 1
    retries = [r for r in caplog.records if r.levelno == logging.WARNING and "retry" in r.message]
    assert len(retries) >= 2
    assert f"127.0.0.1:{port}" in retries[0].message


# -- a scripted HTTP server for failure modes --------------------------------------------


class ScriptedServer(ThreadingHTTPServer):
    """Answers each GET with the next (status, body, delay) step; the last one repeats."""

    daemon_threads = True

    def __init__(self, steps: list[tuple[int, str, float]]) -> None:
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        self.steps = steps
        self.hits = 0
        self.authorizations: list[str | None] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class ScriptedHandler(BaseHTTPRequestHandler):
    server: ScriptedServer

    def do_GET(self) -> None:
        with self.server.lock:
            step = self.server.steps[min(self.server.hits, len(self.server.steps) - 1)]
            self.server.hits += 1
            self.server.authorizations.append(self.headers.get("Authorization"))
        status, body, delay = step
        time.sleep(delay)
        payload = body.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting, as the timeout test intends

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def scripted_server(*steps: tuple[int, str, float]) -> Iterator[ScriptedServer]:
    server = ScriptedServer(list(steps))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def jedha_body(source_rows: pd.DataFrame) -> str:
    """One fixture transaction exactly as the Jedha API sends it."""
    row = source_rows.iloc[0]
    values = [
        int(row["cc_num"]) if name in ("cc_num", "zip") else row.get(name) for name in FEED_COLUMNS
    ]
    values = [v.item() if isinstance(v, np.generic) else v for v in values]
    values[-1] = int(time.time() * 1000)
    split = {"columns": list(FEED_COLUMNS), "index": [0], "data": [values]}
    return json.dumps(json.dumps(split))


def test_client_retries_5xx_then_succeeds(
    jedha_body: str, caplog: pytest.LogCaptureFixture, source_rows: pd.DataFrame
) -> None:
    failure = json.dumps({"detail": "temporarily overloaded"})
    with scripted_server((500, failure, 0), (503, failure, 0), (200, jedha_body, 0)) as server:
        url = f"{server.url}/current-transactions"
        with FeedClient(url, retries=3, backoff=0.05, api_key="k3y") as client:
            frame = client.current_transactions()
    assert frame["trans_num"].tolist() == [source_rows["trans_num"].iloc[0]]
    assert server.hits == 3
    assert server.authorizations == ["Bearer k3y"] * 3
    warnings = [r.message for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "HTTP 500: temporarily overloaded" in warnings[0]
    assert url in warnings[0]
    assert "k3y" not in caplog.text


def test_client_retries_a_timeout(jedha_body: str) -> None:
    with scripted_server((200, jedha_body, 1.0), (200, jedha_body, 0)) as server:
        with FeedClient(server.url + "/current-transactions", timeout=0.3, backoff=0.05) as client:
            frame = client.current_transactions()
        assert server.hits == 2
    assert len(frame) == 1


def test_a_4xx_raises_at_once_without_retrying(caplog: pytest.LogCaptureFixture) -> None:
    with scripted_server((404, json.dumps({"detail": "Not Found"}), 0)) as server:
        url = f"{server.url}/current-transactions"
        with FeedClient(url, retries=5, backoff=0.5) as client:
            started = time.monotonic()
            with pytest.raises(FeedError, match="404") as raised:
                client.current_transactions()
        assert time.monotonic() - started < 0.4
        assert server.hits == 1
    assert raised.value.status_code == 404
    assert "Not Found" in str(raised.value)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_exhausted_retries_raise_naming_the_url() -> None:
    with scripted_server((500, "{}", 0)) as server:
        url = f"{server.url}/current-transactions"
        with (
            FeedClient(url, retries=2, backoff=0.01) as client,
            pytest.raises(FeedError) as raised,
        ):
            client.current_transactions()
        assert server.hits == 3
    assert url in str(raised.value)
    assert "3 attempt" in str(raised.value)
    assert raised.value.status_code == 500

    nobody = socket.socket()
    nobody.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{nobody.getsockname()[1]}"
    try:
        with (
            FeedClient(url, retries=1, backoff=0.01) as client,
            pytest.raises(FeedError, match=re.escape(url)) as refused,
        ):
            client.current_transactions()
    finally:
        nobody.close()
    assert refused.value.status_code is None


def test_client_rejects_a_url_that_is_not_http() -> None:
    with pytest.raises(ValueError, match="http"):
        FeedClient("127.0.0.1:8100")


# -- the blocking entry point, as the CLI runs it ----------------------------------------


def test_serve_feed_serves_logs_through_the_redacting_handler_and_stops_on_sigint(
    fixture_pans: frozenset[str],
) -> None:
    placeholder = socket.socket()
    placeholder.bind(("127.0.0.1", 0))
    port = placeholder.getsockname()[1]
    placeholder.close()
    script = textwrap.dedent(
        f"""
        import logging
        from fraudwatch.log import configure_logging
        from fraudwatch.sources.csv_file import read_transactions
        from fraudwatch.sources.feed_server import serve_feed
        configure_logging("DEBUG")
        logging.getLogger("uvicorn").setLevel("INFO")
        try:
            serve_feed(read_transactions({str(FIXTURE)!r}), "127.0.0.1", {port}, 1000.0, 500)
        except KeyboardInterrupt:
            print("stopped", flush=True)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with FeedClient(f"http://127.0.0.1:{port}", retries=8, backoff=0.25) as client:
            wait_until(lambda: client.health()["published"] > 0, timeout=20)
            frame = client.current_transactions()
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert len(frame) == 1
    assert stdout.strip() == "stopped"
    assert "feed server listening on http://127.0.0.1:" in stderr
    assert "uvicorn" in stderr  # uvicorn's own records reach our root handler
    assert not pans_in(stderr, fixture_pans)


def test_pan_detector_notices_a_full_card_number() -> None:
    pans = frozenset({"4992346398065154184", "3573030041201292"})
    assert pans_in("card 4992346398065154184 declined", pans) == {"4992346398065154184"}
    assert pans_in("x13573030041201292", pans) == {"3573030041201292"}
    assert pans_in("card 499234*********4184 and 1795653331141", pans) == set()
