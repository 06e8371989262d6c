"""The component status table: one row per component, written by heartbeats, read by everyone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from fraudwatch.sinks.status import (
    FAILED,
    RUNNING,
    SILENT,
    SILENT_AFTER,
    STOPPED,
    Heartbeat,
    read_statuses,
)
from fraudwatch.sinks.store import Store

PAN = "4263982640269299"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    store = Store(store_url)
    store.upgrade()
    yield store
    store.close()


def test_a_heartbeat_keeps_one_row_per_component_and_changes_of_state_are_written_at_once(
    store: Store,
) -> None:
    beat = Heartbeat(store, "pipeline csv:/x", "pipeline", every=3600, clock_speed=600.0)
    clock = dt.datetime(2026, 12, 5, 14, 2, 11)
    assert beat.beat(RUNNING, stream_time=clock, processed=10)
    assert not beat.beat(RUNNING, processed=20)  # not due yet: nothing written
    assert beat.beat(STOPPED, stream_time=clock, processed=30)  # a new state: written at once
    Heartbeat(store, "api 127.0.0.1:8000", "api").beat(RUNNING)
    rows = {status.component: status for status in read_statuses(store)}
    assert set(rows) == {"pipeline csv:/x", "api 127.0.0.1:8000"}
    pipeline = rows["pipeline csv:/x"]
    assert (pipeline.state, pipeline.processed, pipeline.clock_speed) == (STOPPED, 30, 600.0)
    assert pipeline.stream_time == clock
    assert pipeline.heartbeat_at.tzinfo is not None


def test_a_failure_is_first_and_its_message_never_holds_a_card_number(store: Store) -> None:
    Heartbeat(store, "api", "api").beat(RUNNING)
    Heartbeat(store, "pipeline feed", "pipeline").beat(
        FAILED, detail=f"FeedError: bad record for card {PAN}"
    )
    first, second = read_statuses(store)
    assert first.component == "pipeline feed" and first.state == FAILED
    assert first.is_problem() and not second.is_problem()
    assert first.detail is not None and PAN not in first.detail and "9299" in first.detail


def test_a_running_component_whose_heartbeat_stopped_is_silent(store: Store) -> None:
    Heartbeat(store, "pipeline", "pipeline").beat(RUNNING)
    (status,) = read_statuses(store)
    assert status.health() == RUNNING
    later = status.heartbeat_at + SILENT_AFTER + dt.timedelta(seconds=1)
    assert status.health(later) == SILENT and status.is_problem(later)
    assert status.as_dict(later)["state"] == SILENT


def test_a_heartbeat_never_raises_when_the_store_is_gone() -> None:
    store = Store("postgresql+psycopg://nobody@127.0.0.1:1/none", retry_attempts=1)
    assert Heartbeat(store, "pipeline", "pipeline").beat(RUNNING) is False
    store.close()
