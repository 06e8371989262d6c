"""API keys, and 422/413 answers that name the field (and the index in a batch)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fraudwatch.api.schemas import FEED_EXAMPLE, KAGGLE_EXAMPLE
from tests.api.conftest import API_KEY

SECURED = [
    ("POST", "/v1/score", KAGGLE_EXAMPLE),
    ("POST", "/v1/score/batch", {"transactions": [KAGGLE_EXAMPLE]}),
    ("POST", "/predict", {"data": KAGGLE_EXAMPLE}),
    ("GET", "/thresholds", None),
    ("GET", "/ready", None),
    ("GET", "/model", None),
    ("GET", "/metrics", None),
]


@pytest.mark.parametrize(("method", "path", "body"), SECURED)
def test_every_endpoint_but_health_needs_a_valid_key(
    make_client: Callable[..., TestClient], method: str, path: str, body: Any
) -> None:
    for headers in ({}, {"X-API-Key": "wrong"}, {"X-API-Key": API_KEY + "x"}):
        anonymous = make_client(headers=headers)
        response = anonymous.request(method, path, json=body)
        assert response.status_code == 401, (path, headers)
        assert "X-API-Key" in response.json()["message"]
        assert response.headers["www-authenticate"] == "X-API-Key"
    keyed = make_client(api_keys=["other-key", API_KEY])
    assert keyed.request(method, path, json=body).status_code == 200


def test_health_is_open(make_client: Callable[..., TestClient]) -> None:
    response = make_client(headers={}).get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_without_keys_the_api_is_open_and_says_so(
    make_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="fraudwatch"):
        open_client = make_client(api_keys=[], headers={})
    assert any(
        record.levelno == logging.WARNING and "no API keys" in record.getMessage()
        for record in caplog.records
    )
    assert open_client.post("/v1/score", json=KAGGLE_EXAMPLE).status_code == 200


def _message(response: Any) -> str:
    assert response.status_code == 422, response.text
    return str(response.json()["message"])


def test_invalid_single_bodies_name_the_field(client: TestClient) -> None:
    missing = {k: v for k, v in KAGGLE_EXAMPLE.items() if k != "amt"}
    assert _message(client.post("/v1/score", json=missing)) == "amt: Field required"
    assert "lat: Input should be a valid number" in _message(
        client.post("/v1/score", json=dict(KAGGLE_EXAMPLE, lat="north"))
    )
    no_time = {k: v for k, v in FEED_EXAMPLE.items() if k != "current_time"}
    assert _message(client.post("/v1/score", json=no_time)).startswith("trans_date_trans_time:")
    detail = client.post("/v1/score", json=missing).json()["detail"]
    assert detail == [{"loc": ["body", "amt"], "msg": "Field required", "type": "missing"}]
    assert "data.city_pop" in _message(
        client.post("/predict", json={"data": dict(KAGGLE_EXAMPLE, city_pop="many")})
    )


def test_contract_failures_are_422_with_schema_reasons(client: TestClient) -> None:
    response = client.post("/v1/score", json=dict(KAGGLE_EXAMPLE, category="casino", amt=-2))
    message = _message(response)
    assert message.startswith("category: unknown category") and "amt: must be >= 0" in message
    assert {(tuple(item["loc"]), item["type"]) for item in response.json()["detail"]} == {
        (("body", "category"), "schema"),
        (("body", "amt"), "schema"),
    }


def test_invalid_batches_name_the_index_and_the_field(client: TestClient) -> None:
    body = {"transactions": [KAGGLE_EXAMPLE, dict(FEED_EXAMPLE, merch_long="west")]}
    assert _message(client.post("/v1/score/batch", json=body)).startswith(
        "transactions[1].merch_long: Input should be a valid number"
    )
    body = {"transactions": [dict(KAGGLE_EXAMPLE, dob="2090-01-01"), FEED_EXAMPLE]}
    response = client.post("/v1/score/batch", json=body)
    assert _message(response) == "transactions[0].dob: must lie between 1900 and the event time"
    assert response.json()["detail"][0]["loc"] == ["body", "transactions", 0, "dob"]
    assert _message(client.post("/v1/score/batch", json={"transactions": []})).startswith(
        "transactions: List should have at least 1 item"
    )


def test_a_refused_batch_scores_nothing(client: TestClient) -> None:
    """All or nothing: a batch with one bad transaction leaves the card state untouched."""
    good = dict(KAGGLE_EXAMPLE, trans_num="first")
    client.post("/v1/score/batch", json={"transactions": [good, dict(good, gender="X")]})
    response = client.get("/metrics")
    assert 'fraudwatch_api_decisions_total{decision="0"' not in response.text
    assert "fraudwatch_api_rejected_total 1.0" in response.text


def test_batches_beyond_the_limit_are_413(client: TestClient) -> None:
    body = {"transactions": [dict(KAGGLE_EXAMPLE, trans_num=f"t{i}") for i in range(51)]}
    response = client.post("/v1/score/batch", json=body)
    assert response.status_code == 413
    assert response.json()["message"] == "at most 50 transactions per batch, got 51"
    body["transactions"] = body["transactions"][:50]
    assert client.post("/v1/score/batch", json=body).status_code == 200


@pytest.mark.parametrize(
    ("body", "where", "expected"),
    [
        ('{"amt": 12.5,\n "category" "misc_net"}', "line 2, column 13 (character 26)", "':'"),
        ('{"amt": 12.5,}', "line 1, column 14 (character 13)", "property name"),
        ('{"amt": 12.5', "line 1, column 13 (character 12)", "','"),
        ("not json", "line 1, column 1 (character 0)", "Expecting value"),
    ],
)
def test_a_malformed_json_body_is_a_400_that_says_where(
    client: TestClient, body: str, where: str, expected: str
) -> None:
    response = client.post("/v1/score", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert message.startswith(f"malformed JSON body at {where}: "), message
    assert expected in message
    assert response.json()["detail"][0]["type"] == "json_invalid"
    assert "misc_net" not in response.text  # the body is never echoed
