"""Decisions reach the store in the background, and the API scores exactly like the file scorer."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from fraudwatch.api.schemas import KAGGLE_EXAMPLE
from fraudwatch.pipeline.score_file import score_file
from fraudwatch.sinks import Store
from fraudwatch.sources.csv_file import read_transactions, write_transactions
from tests.api.conftest import KEY, json_records


def _wait_for(count: Callable[[], int], expected: int, seconds: float = 5.0) -> int:
    deadline = time.monotonic() + seconds
    while (found := count()) < expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


def test_decisions_reach_the_store(
    client: TestClient, sqlite_store: Store, test_records: list[dict[str, Any]]
) -> None:
    records = test_records[:12]
    for record in records[:4]:
        assert client.post("/v1/score", json=record).status_code == 200
    client.post("/predict", json={"data": records[4]})
    client.post("/v1/score/batch", json={"transactions": records[5:]})
    client.post("/v1/score", json=dict(records[0], trans_num="bad-one", amt="lots"))  # pydantic
    client.post("/v1/score", json=dict(records[0], trans_num="bad-two", lat=123.0))  # contract
    assert _wait_for(lambda: sqlite_store.count("decisions"), len(records)) == len(records)
    assert _wait_for(lambda: sqlite_store.count("dead_letter"), 1) == 1
    with sqlite_store.engine.connect() as conn:
        stored = pd.read_sql("SELECT trans_num, source, model_version FROM decisions", conn)
    assert sorted(stored["trans_num"]) == sorted(r["trans_num"] for r in records)
    assert set(stored["source"]) == {"api"}


def test_a_failing_store_never_fails_requests(
    make_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    class BrokenStore:
        def write_batch(self, *args: Any, **kwargs: Any) -> int:
            raise ConnectionError("database went away")

        def ping(self) -> bool:
            return False

    client = make_client(store=BrokenStore())
    assert client.post("/v1/score", json=KAGGLE_EXAMPLE).status_code == 200
    assert client.app.state.writer.flush(5)  # type: ignore[attr-defined]
    assert "fraudwatch_api_store_failed_total 1.0" in client.get("/metrics").text
    assert any("could not store 1 decisions" in r.getMessage() for r in caplog.records)


def test_api_scores_equal_the_file_scorer(
    make_client: Callable[..., TestClient],
    model_dir: Path,
    split_files: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    """The same transactions in the same order get the same probabilities either way."""
    rows = 2_500
    small = tmp_path / "small_test.csv"
    write_transactions([next(read_transactions(split_files[1], limit=rows))], small)
    out = tmp_path / "scores.csv"
    score_file(model_dir, small, out, KEY)
    expected = pd.read_csv(out, dtype={"trans_num": str}).set_index("trans_num")

    client = make_client(batch_limit=1000)  # a fresh service: no card history, like the file
    records = json_records(small, rows)
    probabilities: dict[str, float] = {}
    singles = 200  # the first ones one by one, the rest in batches
    for record in records[:singles]:
        result = client.post("/v1/score", json=record).json()
        probabilities[result["trans_num"]] = result["fraud_probability"]
    for start in range(singles, len(records), 400):
        chunk = records[start : start + 400]
        response = client.post("/v1/score/batch", json={"transactions": chunk})
        assert response.status_code == 200, response.text[:500]
        for result in response.json()["results"]:
            probabilities[result["trans_num"]] = result["fraud_probability"]
    assert len(probabilities) == len(expected) == rows
    got = np.array([probabilities[trans_num] for trans_num in expected.index])
    np.testing.assert_allclose(got, expected["fraud_probability"].to_numpy(), rtol=1e-6, atol=0)
    assert (expected["fraud_probability"] > 0.5).any()  # some history-driven high scores
