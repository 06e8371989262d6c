"""POST /v1/labels: reports stored by source, pending when unknown, 422 naming the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from fraudwatch.sinks import Store
from fraudwatch.sinks.labels import effective_labels
from tests.sinks.factories import synthetic_decisions


def _report(trans_num: str, label: Any, source: str = "chargeback", **extra: Any) -> dict[str, Any]:
    fields = {"trans_num": trans_num, "label": label, "reported_at": "2020-06-24T09:00:00Z"}
    return fields | {"source": source} | extra


def test_labels_are_stored_applied_or_pending_and_both_sources_kept(
    client: TestClient, sqlite_store: Store
) -> None:
    sqlite_store.write_batch(synthetic_decisions(5))
    body = {
        "labels": [
            _report("tx00000001", 1),
            _report("tx00000001", "false", "analyst", reported_by="ana"),  # disagrees
            _report("tx-not-yet", 1),
        ]
    }
    response = client.post("/v1/labels", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "received": 3, "stored": 3, "applied": 2, "pending": 1, "duplicates": 0,
    }  # fmt: skip
    again = client.post("/v1/labels", json=body).json()
    assert (again["stored"], again["duplicates"]) == (0, 3)
    assert sqlite_store.count("labels") == 2 and sqlite_store.count("pending_labels") == 1
    effective = effective_labels()
    with sqlite_store.engine.connect() as conn:
        row = conn.execute(sa.select(effective).where(effective.c.trans_num == "tx00000001")).one()
    assert (row.is_fraud, row.source) == (1, "chargeback")


def test_a_bad_label_is_422_naming_the_field_and_nothing_is_stored(
    client: TestClient, sqlite_store: Store
) -> None:
    sqlite_store.write_batch(synthetic_decisions(5))
    body = {"labels": [_report("tx00000001", 1), _report("tx00000002", "maybe")]}
    response = client.post("/v1/labels", json=body)
    assert response.status_code == 422
    payload = response.json()
    assert payload["detail"][0]["loc"] == ["body", "labels", 1, "label"]
    assert payload["message"].startswith("labels[1].label: ")
    assert "1 (fraud) or 0 (legitimate)" in payload["message"]
    bad_source = client.post("/v1/labels", json={"labels": [_report("tx1", 1, "bank")]})
    assert bad_source.status_code == 422
    assert bad_source.json()["detail"][0]["loc"] == ["body", "labels", 0, "source"]
    assert client.post("/v1/labels", json={"labels": []}).status_code == 422
    assert sqlite_store.count("labels") == 0


def test_labels_need_the_key_and_a_database(
    make_client: Callable[..., TestClient], sqlite_store: Store
) -> None:
    body = {"labels": [_report("tx00000001", 1)]}
    keyless = make_client(store=sqlite_store, headers={})
    assert keyless.post("/v1/labels", json=body).status_code == 401
    storeless = make_client()
    response = storeless.post("/v1/labels", json=body)
    assert response.status_code == 503
    assert "database" in response.json()["message"]
