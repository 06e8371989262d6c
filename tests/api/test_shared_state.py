"""Card state in a real Redis: the pipeline and the API score with one card history."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fraudwatch.features.shared import RedisCardState
from fraudwatch.model.registry import load_bundle
from fraudwatch.pipeline.inputs import CsvReplay
from fraudwatch.pipeline.runner import Runner
from fraudwatch.pipeline.score_file import score_file
from fraudwatch.pipeline.service import ScoringService
from fraudwatch.sinks import Store
from fraudwatch.sources.csv_file import read_transactions, write_transactions
from tests.api.conftest import TestClient, json_records
from tests.model.conftest import KEY


@pytest.fixture
def redis_url(redis_address: tuple[str, int]) -> str:
    """URL of the real Redis server."""
    host, port = redis_address
    return f"redis://{host}:{port}/0"


@pytest.fixture
def shared(redis_url: str) -> Iterator[Callable[[], RedisCardState]]:
    """Makes card-state clients on one fresh namespace (one per simulated process)."""
    namespace = f"fraudwatch-test:{uuid.uuid4().hex}:"
    yield lambda: RedisCardState(redis_url, namespace=namespace)
    RedisCardState(redis_url, namespace=namespace).clear()


def test_the_api_continues_the_card_history_the_pipeline_wrote(
    model_dir: Path,
    split_files: tuple[Path, Path],
    tmp_path: Path,
    shared: Callable[[], RedisCardState],
    make_client: Callable[..., TestClient],
) -> None:
    """Pipeline scores the first rows, the API the rest: the scores of one process."""
    rows, piped = 1_500, 1_000
    small = tmp_path / "small_test.csv"
    frame = next(read_transactions(split_files[1], limit=rows))
    write_transactions([frame], small)
    out = tmp_path / "scores.csv"
    score_file(model_dir, small, out, KEY)  # one process, in-memory state: the reference
    expected = pd.read_csv(out, dtype={"trans_num": str}).set_index("trans_num")

    first_part = tmp_path / "first_part.csv"
    write_transactions([frame.iloc[:piped]], first_part)
    store = Store(f"sqlite:///{tmp_path / 'pipe.db'}")
    store.upgrade()
    pipeline = ScoringService(load_bundle(model_dir), KEY, shared=shared())
    runner = Runner(pipeline, store, CsvReplay(first_part), state_dir=tmp_path / "state")
    assert runner.state_file is None  # the state is in Redis, not in a local snapshot
    assert runner.run().scored == piped
    store.close()

    api_service = ScoringService(load_bundle(model_dir), KEY, shared=shared())
    client = make_client(scoring=api_service)
    got = {}
    for record in json_records(small, rows)[piped:]:
        answer = client.post("/v1/score", json=record).json()
        got[answer["trans_num"]] = answer["fraud_probability"]
    later = expected.index[expected.index.isin(list(got))]
    assert len(later) == rows - piped
    np.testing.assert_allclose(
        [got[t] for t in later], expected.loc[later, "fraud_probability"], rtol=1e-6, atol=0
    )
    # without the shared history the API would score differently
    cold = ScoringService(load_bundle(model_dir), KEY)
    cold_scores = cold.score(json_records(small, rows)[piped:], source="api").decisions
    assert not np.allclose(
        cold_scores.set_index("trans_num").loc[later, "fraud_probability"],
        expected.loc[later, "fraud_probability"],
    )
    assert client.get("/ready").json()["card_state"] == "redis: ok"


def test_ready_is_false_when_redis_is_down(
    model_dir: Path, make_client: Callable[..., TestClient]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    down = RedisCardState(f"redis://127.0.0.1:{closed}/0")
    service = ScoringService(load_bundle(model_dir), KEY, shared=down)
    response = make_client(scoring=service).get("/ready")
    assert response.status_code == 503
    assert response.json()["card_state"] == "unreachable"
    assert response.json()["ready"] is False
