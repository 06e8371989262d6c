"""The API in the status table: its own heartbeat, and /ready naming what stopped scoring."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from fastapi.testclient import TestClient

from fraudwatch.sinks import tables
from fraudwatch.sinks.status import FAILED, RUNNING, SILENT_AFTER, Heartbeat, read_statuses
from fraudwatch.sinks.store import Store

PAN = "4263982640269299"


def test_the_api_keeps_its_own_row_and_says_stopped_on_shutdown(
    make_client: Callable[..., TestClient], sqlite_store: Store
) -> None:
    client = make_client(store=sqlite_store)
    client.post("/v1/score", json={})  # any request: the app has started
    (row,) = read_statuses(sqlite_store)
    assert row.kind == "api" and row.state == RUNNING and row.component.startswith("api ")
    client.__exit__(None, None, None)
    (row,) = read_statuses(sqlite_store)
    assert row.state == "stopped"


def test_ready_is_503_while_a_pipeline_has_stopped_on_an_error(
    make_client: Callable[..., TestClient], sqlite_store: Store
) -> None:
    client = make_client(store=sqlite_store)
    assert client.get("/ready").status_code == 200
    pipeline = Heartbeat(sqlite_store, "pipeline feed:http://feed", "pipeline")
    pipeline.beat(FAILED, detail=f"FeedError: HTTP 409 for card {PAN}")
    response = client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False and body["database"] == "ok"
    (stopped,) = body["stopped_components"]
    assert stopped["component"] == "pipeline feed:http://feed" and stopped["state"] == FAILED
    assert stopped["detail"].startswith("FeedError: HTTP 409") and PAN not in response.text
    pipeline.beat(RUNNING)  # it restarted: ready again
    assert client.get("/ready").status_code == 200


def test_ready_names_a_component_that_fell_silent(
    make_client: Callable[..., TestClient], sqlite_store: Store
) -> None:
    client = make_client(store=sqlite_store)
    worker = Heartbeat(sqlite_store, "worker 1", "worker")
    worker.started_at -= SILENT_AFTER * 2
    worker.beat(RUNNING)
    with sqlite_store.engine.begin() as conn:  # its last word was long ago (kill -9)
        old = dt.datetime.now(dt.UTC) - SILENT_AFTER * 2
        conn.execute(tables.component_status.update().values(heartbeat_at=old))
    response = client.get("/ready")
    assert response.status_code == 503
    assert [c["state"] for c in response.json()["stopped_components"]] == ["silent"]
