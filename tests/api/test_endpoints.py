"""What the endpoints answer: scores, the original /predict, thresholds, probes, metadata,
metrics, and a complete OpenAPI document."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fraudwatch.api.schemas import FEED_EXAMPLE, KAGGLE_EXAMPLE
from fraudwatch.model.registry import ModelBundle
from fraudwatch.pipeline.service import ScoringService
from fraudwatch.sinks import Store

THRESHOLD_NAMES = ["conservative", "balanced", "sensitive", "very_sensitive"]


def test_score_one_transaction_in_either_shape(client: TestClient, service: ScoringService) -> None:
    for body in (KAGGLE_EXAMPLE, FEED_EXAMPLE, dict(KAGGLE_EXAMPLE, is_fraud=1, cc_num=4.5e15)):
        response = client.post("/v1/score", json=body)
        assert response.status_code == 200, response.text
        result = response.json()
        assert set(result) == {
            "trans_num", "fraud_probability", "decision", "risk_level", "threshold",
            "model_version", "top_reasons", "latency_ms",
        }  # fmt: skip
        assert result["trans_num"] == body["trans_num"]
        assert 0.0 <= result["fraud_probability"] <= 1.0
        assert result["decision"] == int(result["fraud_probability"] >= service.threshold)
        assert result["threshold"] == service.threshold
        assert result["model_version"] == service.model_version
        assert isinstance(result["top_reasons"], list) and result["latency_ms"] >= 0


def test_batch_results_come_back_in_request_order(
    client: TestClient, test_records: list[dict[str, Any]]
) -> None:
    records = test_records[:30][::-1]  # newest first: scored in event-time order anyway
    response = client.post("/v1/score/batch", json={"transactions": records})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["trans_num"] for r in results] == [r["trans_num"] for r in records]


def test_predict_keeps_the_original_shape(client: TestClient, service: ScoringService) -> None:
    response = client.post("/predict", json={"data": KAGGLE_EXAMPLE})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {"prediction", "probability", "threshold_used", "risk_level", "details"}
    assert answer["prediction"] in (0, 1)
    assert answer["risk_level"] in ("CRITICAL", "HIGH", "MEDIUM", "LOW")
    assert answer["threshold_used"] == service.threshold  # balanced by default
    assert answer["prediction"] == int(answer["probability"] >= answer["threshold_used"])
    details = answer["details"]
    assert details["trans_num"] == KAGGLE_EXAMPLE["trans_num"]
    assert details["model_version"] == service.model_version
    assert {"top_reasons", "latency_ms", "threshold_name"} <= set(details)


def test_named_thresholds(client: TestClient, service: ScoringService) -> None:
    listed = client.get("/thresholds").json()
    assert [t["name"] for t in listed["thresholds"]] == THRESHOLD_NAMES
    values = {t["name"]: t["value"] for t in listed["thresholds"]}
    t = service.threshold
    assert values == pytest.approx(
        {"conservative": (1 + t) / 2, "balanced": t, "sensitive": t / 2, "very_sensitive": t / 4}
    )
    assert listed["default"] == "balanced" and listed["model_threshold"] == t
    for name in THRESHOLD_NAMES:
        answer = client.post("/predict", json={"data": KAGGLE_EXAMPLE, "threshold": name}).json()
        assert answer["threshold_used"] == pytest.approx(values[name])
        assert answer["details"]["threshold_name"] == name
    bad = client.post("/predict", json={"data": KAGGLE_EXAMPLE, "threshold": "paranoid"})
    assert bad.status_code == 422 and bad.json()["message"].startswith("threshold:")


def test_ready_needs_the_database(
    make_client: Callable[..., TestClient], sqlite_store: Store
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    down = Store(f"postgresql://fraudwatch:secret@127.0.0.1:{closed}/fraudwatch")
    try:
        response = make_client(store=down).get("/ready")
    finally:
        down.close()
    assert response.status_code == 503
    assert response.json() == {
        "ready": False,
        "model": "loaded",
        "database": "unreachable",
        "card_state": "in process",
        "stopped_components": [],
    }
    response = make_client(store=sqlite_store).get("/ready")
    assert response.status_code == 200
    assert response.json() == {
        "ready": True,
        "model": "loaded",
        "database": "ok",
        "card_state": "in process",
        "stopped_components": [],
    }
    assert make_client().get("/ready").json()["database"] == "not configured"


def test_model_metadata(client: TestClient, bundle: ModelBundle) -> None:
    info = client.get("/model").json()
    assert info["version"] == bundle.version
    assert info["features"] == bundle.model.features
    assert info["baseline_features"] == bundle.baseline.features
    assert info["threshold"] == bundle.model.threshold
    assert set(info["training_window"]) >= {"start", "end", "validation_start"}
    assert "average_precision" in info["validation_metrics"]["model"]


def test_metrics_expose_latency_decisions_and_model(
    client: TestClient, test_records: list[dict[str, Any]], service: ScoringService
) -> None:
    for record in test_records[:5]:
        client.post("/v1/score", json=record)
    client.post("/predict", json={"data": test_records[5]})
    client.post("/v1/score", json=dict(test_records[6], category="casino"))
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert (
        'fraudwatch_api_request_duration_seconds_count{endpoint="/v1/score",method="POST",'
        'status="200"} 5.0' in text
    )
    assert 'fraudwatch_api_request_duration_seconds_bucket{endpoint="/predict",le="0.01"' in text
    assert 'status="422"' in text
    decisions = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("fraudwatch_api_decisions_total{")
    ]
    assert sum(decisions) == 6
    assert "fraudwatch_api_rejected_total 1.0" in text
    labels = f'threshold="{service.threshold:.6g}",version="{service.model_version}"'
    assert f"fraudwatch_model_info{{{labels}}} 1.0" in text


def test_openapi_documents_every_endpoint_model_and_the_key(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    expected = {
        "/v1/score": "post", "/v1/score/batch": "post", "/predict": "post",
        "/thresholds": "get", "/health": "get", "/ready": "get", "/model": "get",
        "/metrics": "get", "/v1/labels": "post",
    }  # fmt: skip
    assert set(paths) == set(expected)
    scheme = document["components"]["securitySchemes"]["ApiKey"]
    assert scheme == {**scheme, "type": "apiKey", "in": "header", "name": "X-API-Key"}
    for path, method in expected.items():
        operation = paths[path][method]
        assert operation.get("summary") and operation.get("description"), path
        if path == "/health":
            assert "security" not in operation
        else:
            assert operation["security"] == [{"ApiKey": []}], path
            assert "401" in operation["responses"], path
    body = paths["/v1/score"]["post"]["requestBody"]["content"]["application/json"]
    assert set(body["examples"]) == {"kaggle", "feed"}
    assert "examples" in document["components"]["schemas"]["BatchRequest"]
    for name, schema in document["components"]["schemas"].items():
        assert schema.get("description"), f"schema {name} is not documented"
    transaction = document["components"]["schemas"]["Transaction"]["properties"]
    undocumented = [field for field, spec in transaction.items() if not spec.get("description")]
    assert not undocumented
