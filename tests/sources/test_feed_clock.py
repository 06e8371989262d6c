"""The feed's two clocks: the wall clock at a rate (Jedha) and the data's own clock sped up."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import pytest

from fraudwatch.sources.feed_client import FeedClient
from fraudwatch.sources.feed_publisher import FeedPublisher
from fraudwatch.sources.feed_server import running_feed_server

START = pd.Timestamp("2026-12-02 00:00:00")


def rows(minutes: list[float], bad: int | None = None) -> pd.DataFrame:
    """Transactions at the given minutes after START (row ``bad`` without a readable time)."""
    times = [(START + pd.Timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M:%S") for m in minutes]
    if bad is not None:
        times[bad] = "not a time"
    return pd.DataFrame(
        {
            "trans_date_trans_time": times,
            "cc_num": ["4111111111111111"] * len(minutes),
            "amt": [10.0] * len(minutes),
            "trans_num": [f"t{i:03d}" for i in range(len(minutes))],
        }
    )


def epoch_ms(minutes: float) -> int:
    return int((START + pd.Timedelta(minutes=minutes)).value // 1_000_000)


def read_all(
    publisher: FeedPublisher, count: int, timeout: float = 20.0
) -> list[dict[str, object]]:
    records: list[dict[str, Any]] = []
    cursor, deadline = publisher.start_cursor, time.monotonic() + timeout
    while len(records) < count and time.monotonic() < deadline:
        page = publisher.read_after(cursor, 100, wait=0.5)
        records += [t.record() for t in page.transactions]
        cursor = page.cursor
    return records


def test_event_clock_stamps_each_row_with_its_own_time() -> None:
    minutes = [0, 5, 7.5, 180, 181]
    with FeedPublisher(iter([rows(minutes)]), speed=1e6) as publisher:
        records = read_all(publisher, len(minutes))
    assert [r["current_time"] for r in records] == [epoch_ms(m) for m in minutes]
    assert publisher.status().stream_time == "2026-12-02T03:01:00"
    assert publisher.status().clock == "event" and publisher.status().speed == 1e6


def test_event_clock_publishes_a_row_only_when_the_sped_up_clock_reaches_it() -> None:
    # 60 event minutes at 1800x are 2 wall seconds: the last row cannot come out sooner
    minutes = [0, 1, 2, 60]
    seen: dict[int, float] = {}
    with FeedPublisher(iter([rows(minutes)]), speed=1800) as publisher:
        started = time.monotonic()
        cursor = 0
        while len(seen) < len(minutes) and time.monotonic() - started < 20:
            page = publisher.read_after(cursor, 10, wait=0.2)
            for transaction in page.transactions:
                seen[transaction.cursor] = time.monotonic() - started
            cursor = page.cursor
    assert len(seen) == 4
    assert seen[3] < seen[4]
    assert seen[4] >= 1.9, seen  # (60 - 0) min * 60 s / 1800 = 2 s after the first row


def test_wall_clock_stamps_the_publication_time_as_jedha_does() -> None:
    before = int(time.time() * 1000)
    with FeedPublisher(iter([rows([0, 600, 1200])]), rate=1000) as publisher:
        records = read_all(publisher, 3)
    after = int(time.time() * 1000)
    assert all(before <= int(str(r["current_time"])) <= after for r in records)
    assert publisher.status().clock == "wall"


def test_a_row_without_a_readable_time_goes_out_with_a_null_stamp() -> None:
    with FeedPublisher(iter([rows([0, 1, 2], bad=1)]), speed=1e6) as publisher:
        records = read_all(publisher, 3)
    assert [r["current_time"] for r in records] == [epoch_ms(0), None, epoch_ms(2)]


def test_a_resumed_feed_skips_what_was_published_and_keeps_the_cursors() -> None:
    minutes = list(range(10))
    with FeedPublisher(iter([rows(minutes)]), speed=1e6, start_cursor=6) as publisher:
        assert publisher.wait_for_first(10)
        page = publisher.read_after(6, 100, wait=1.0)
        while len(page.transactions) < 4 and not page.exhausted:
            page = publisher.read_after(6, 100, wait=1.0)
        assert [t.cursor for t in page.transactions] == [7, 8, 9, 10]
        assert [t.record()["trans_num"] for t in page.transactions] == [
            "t006",
            "t007",
            "t008",
            "t009",
        ]
        assert publisher.read_after(2, 100).missed == 4  # rows 3..6 belong to the earlier run
        assert publisher.latest(2)[-1].cursor == 10


def test_a_clock_is_required_and_only_one() -> None:
    with pytest.raises(ValueError, match="exactly one of rate"):
        FeedPublisher(iter([]))
    with pytest.raises(ValueError, match="exactly one of rate"):
        FeedPublisher(iter([]), rate=1, speed=1)
    with pytest.raises(ValueError, match="speed must be a positive"):
        FeedPublisher(iter([]), speed=0)


def test_health_reports_the_clock_over_http() -> None:
    with running_feed_server(iter([rows([0, 30])]), speed=1e6) as url, FeedClient(url) as client:
        deadline = time.monotonic() + 10
        while (health := client.health())["published"] < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert health["clock"] == "event" and health["speed"] == 1e6
    assert health["stream_time"] == "2026-12-02T00:30:00"
