"""The API and the stream clock (issue 12.4): refused event times are 422s that store nothing,
and the documented examples are recent and carry no real card number."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pandas as pd
import sqlalchemy as sa

from fraudwatch.api.schemas import EXAMPLE_PAN, FEED_EXAMPLE, KAGGLE_EXAMPLE
from fraudwatch.pipeline.service import ScoringService
from fraudwatch.sinks import Store
from tests.api.conftest import TestClient
from tests.conftest import KAGGLE_HEAD

SIX_YEARS_EARLIER = (
    pd.Timestamp(KAGGLE_EXAMPLE["trans_date_trans_time"]) - pd.Timedelta(days=6 * 365)
).strftime("%Y-%m-%d %H:%M:%S")


def _stored(store: Store, expected: int) -> list[str]:
    deadline = time.monotonic() + 5
    while store.count("decisions") < expected and time.monotonic() < deadline:
        time.sleep(0.02)
    with store.engine.connect() as connection:
        return sorted(connection.execute(sa.text("SELECT trans_num FROM decisions")).scalars())


def _transactions(count: int, **changes: Any) -> list[dict[str, Any]]:
    return [dict(KAGGLE_EXAMPLE, trans_num=f"now-{i}", **changes) for i in range(count)]


def test_an_event_time_off_the_stream_clock_is_a_422_and_stores_nothing(
    client: TestClient, sqlite_store: Store, service: ScoringService
) -> None:
    assert (
        client.post("/v1/score/batch", json={"transactions": _transactions(3)}).status_code == 200
    )
    clock = service.engine.stream_clock_ms
    assert clock is not None and _stored(sqlite_store, 3) == ["now-0", "now-1", "now-2"]

    old = dict(KAGGLE_EXAMPLE, trans_num="old", trans_date_trans_time=SIX_YEARS_EARLIER)
    single = client.post("/v1/score", json=old)
    assert single.status_code == 422
    [item] = single.json()["detail"]
    assert item["loc"] == ["body", "event_time"] and item["type"] == "schema"
    assert item["msg"].startswith("event time is 6.0 years behind the stream clock")

    good = dict(FEED_EXAMPLE, trans_num="good-in-a-bad-batch")
    batch = client.post("/v1/score/batch", json={"transactions": [good, old]})
    assert batch.status_code == 422
    assert batch.json()["message"].startswith("transactions[1].event_time: event time is 6.0")
    assert [item["loc"] for item in batch.json()["detail"]] == [
        ["body", "transactions", 1, "event_time"]
    ]
    after = dict(KAGGLE_EXAMPLE, trans_num="now-3")  # stored after the refused requests
    assert client.post("/v1/score", json=after).status_code == 200
    assert _stored(sqlite_store, 4) == ["now-0", "now-1", "now-2", "now-3"]  # nothing refused
    assert service.engine.stream_clock_ms == clock  # the same second: the clock stayed
    assert sqlite_store.count("dead_letter") == 2  # the refused records themselves, with reasons


def test_openapi_examples_are_recent_and_carry_no_real_card_number(client: TestClient) -> None:
    text = client.get("/openapi.json").text
    kaggle_cards = set(pd.read_csv(KAGGLE_HEAD, usecols=["cc_num"], dtype=str)["cc_num"])
    assert len(kaggle_cards) > 500
    assert [card for card in kaggle_cards if card in text] == []
    assert EXAMPLE_PAN in text and EXAMPLE_PAN not in kaggle_cards
    digits = [int(d) for d in reversed(EXAMPLE_PAN)]
    luhn = sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])
    assert luhn % 10 == 0
    shown = pd.Timestamp(KAGGLE_EXAMPLE["trans_date_trans_time"])
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert dt.timedelta(0) <= now - shown < dt.timedelta(hours=1)
    assert KAGGLE_EXAMPLE["trans_date_trans_time"] in text
    assert FEED_EXAMPLE["current_time"] == int(shown.timestamp()) * 1000
    assert "2020-06-21" not in text


def test_the_documented_examples_follow_the_stream_clock(
    client: TestClient, service: ScoringService
) -> None:
    """A stream 90 days ahead of this process (the demo's clock): the examples still score."""
    ahead = pd.Timestamp(KAGGLE_EXAMPLE["trans_date_trans_time"]) + pd.Timedelta(days=90)
    first = dict(KAGGLE_EXAMPLE, trans_num="ahead-1", trans_date_trans_time=f"{ahead}")
    for step in range(6):  # the clock moves to a stream that agrees with itself
        moved = dict(first, trans_num=f"ahead-{step}")
        client.post("/v1/score", json=moved)
    assert service.engine.stream_clock_ms == int(ahead.value // 1_000_000)
    examples = client.get("/openapi.json").json()["paths"]["/v1/score"]["post"]["requestBody"][
        "content"
    ]["application/json"]["examples"]
    kaggle, feed = examples["kaggle"]["value"], examples["feed"]["value"]
    assert kaggle["trans_date_trans_time"] == f"{ahead}"
    assert kaggle["unix_time"] * 1000 == feed["current_time"] == int(ahead.value // 1_000_000)
    assert client.post("/v1/score", json=kaggle).status_code == 200
    assert client.post("/v1/score", json=feed).status_code == 200
