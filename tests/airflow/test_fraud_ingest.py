"""fraud_ingest end to end: ``dag.test()`` in the Airflow venv against a live local feed.

The DAG runs in a subprocess (``.venv-airflow``) with a temporary AIRFLOW_HOME; the feed
server, the scoring API and the checks run here. Every run must store each fed
transaction once, keep card history from one run to the next, store nothing on a re-run,
and fail without storing anything when the feed answers garbage.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from fraudwatch.pipeline.service import ScoringService
from fraudwatch.sinks import Store
from fraudwatch.sources.feed_client import FeedClient
from fraudwatch.sources.feed_server import running_feed_server
from tests.airflow.conftest import DAGS, KEY, DagRunResult, airflow_env, run_airflow
from tests.servers import serving

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAG_ID = "fraud_ingest"
FETCH = "ingestion.fetch_transactions"
SCORE = "inference.score_transactions"
STORE = "persistence.store_decisions"
ALERTS = "persistence.report_alerts"
FED, INVALID = 240, 2
API_KEY = "airflow-test-api-key-0123456789"


def dag_test(
    python: Path,
    home: Path,
    data_dir: Path,
    feed_url: str,
    database_url: str | None,
    *,
    logical_date: str | None = None,
    conf: dict[str, Any] | None = None,
    **extra: str,
) -> DagRunResult:
    """One ``dag.test()`` of fraud_ingest configured through FRAUDWATCH_* variables only."""
    env = airflow_env(
        home,
        FRAUDWATCH_DATA_DIR=str(data_dir),
        FRAUDWATCH_FEED_URL=feed_url,
        FRAUDWATCH_PAN_KEY=KEY.decode(),
        **({"FRAUDWATCH_DATABASE_URL": database_url} if database_url else {}),
        **extra,
    )
    args = ["test", str(DAGS), DAG_ID]
    if logical_date:
        args += ["--logical-date", logical_date]
    if conf:
        args += ["--conf", json.dumps(conf)]
    return run_airflow(python, env, *args)


def store_of(database_url: str | None, data_dir: Path) -> Store:
    """The store the DAG wrote to."""
    return Store(database_url or f"sqlite:///{data_dir / 'fraudwatch.db'}")


def decisions_of(store: Store) -> pd.DataFrame:
    """Stored decisions: trans_num, probability, decision, inserted_at."""
    query = sa.text(
        "SELECT trans_num, fraud_probability, decision, source, inserted_at FROM decisions"
    )
    with store.engine.connect() as conn:
        return pd.DataFrame(conn.execute(query).mappings().all())


@contextmanager
def live_feed(frames: list[pd.DataFrame]) -> Iterator[str]:
    """Our feed server publishing ``frames`` at once; yields its URL when all is published."""
    total = sum(len(frame) for frame in frames)
    with running_feed_server(iter(frames), rate=10_000.0) as url:
        with FeedClient(url) as client:
            deadline = time.monotonic() + 30
            while client.health()["published"] < total:
                assert time.monotonic() < deadline, "the feed did not publish its rows"
                time.sleep(0.05)
        yield url


def reference_probabilities(feed_url: str, model_dir: Path) -> pd.Series:
    """What one in-process service, fed everything in one batch, says about each transaction."""
    with FeedClient(feed_url) as client:
        records = client.transactions_since(0, 10_000).records
    scored = ScoringService.from_model_dir(model_dir, KEY).score(records, source="feed")
    return scored.decisions.set_index("trans_num")["fraud_probability"]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_runs_store_every_transaction_once_and_keep_card_history(
    backend: str,
    request: pytest.FixtureRequest,
    airflow_python: Path,
    airflow_home: Path,
    data_dir: Path,
    feed_frames: list[pd.DataFrame],
    model_folder: Path,
) -> None:
    with _database(request, backend) as database_url, live_feed(feed_frames) as url:
        # run 1 reads only the first 100 transactions (one of them invalid)
        first = dag_test(
            airflow_python, airflow_home, data_dir, url, database_url, conf={"max_records": 100}
        )
        assert first.state == "success", first.log[-4000:]
        assert first.xcom(FETCH) | {"folder": ""} == first.xcom(FETCH) | {
            "folder": "", "mode": "cursor", "start": "0", "end": "100", "fetched": 100,
            "valid": 99, "rejected": 1, "warm": False,
        }  # fmt: skip
        store = store_of(database_url, data_dir)
        try:
            assert store.count("decisions") == 99
            assert store.count("dead_letter") == 1
            assert store.checkpoint(f"feed:{url}") == "100"

            # run 2 reads the rest, continuing the card state the first run saved
            second = dag_test(airflow_python, airflow_home, data_dir, url, database_url)
            assert second.state == "success", second.log[-4000:]
            fetched = second.xcom(FETCH)
            assert (fetched["start"], fetched["end"], fetched["warm"]) == ("100", "240", True)
            stored = decisions_of(store)
            assert len(stored) == FED - INVALID == stored["trans_num"].nunique()
            assert store.count("dead_letter") == INVALID
            assert store.count("alerts") == int(stored["decision"].sum())
            assert set(stored["source"]) == {"feed"}
            reference = reference_probabilities(url, model_folder)
            mine = stored.set_index("trans_num")["fraud_probability"].loc[reference.index]
            np.testing.assert_allclose(mine.to_numpy(), reference.to_numpy(), rtol=1e-6)

            # the same run again (same logical date): nothing new, nothing rewritten
            again = dag_test(
                airflow_python, airflow_home, data_dir, url, database_url,
                logical_date=second.report["logical_date"],
            )  # fmt: skip
            assert again.state == "success", again.log[-4000:]
            assert again.report["run_id"] == second.report["run_id"]
            assert "fetched 0 transaction(s)" in again.log  # its tasks did run again
            assert again.xcom(ALERTS)["fetched"] == 0 and again.xcom(ALERTS)["stored"] == 0
            after = decisions_of(store)
            assert len(after) == FED - INVALID
            assert after["inserted_at"].max() == stored["inserted_at"].max()
            assert store.count("dead_letter") == INVALID
            assert store.checkpoint(f"feed:{url}") == "240"
            assert not list((data_dir / "staging" / DAG_ID).iterdir())  # cleaned up
        finally:
            store.close()


@contextmanager
def _database(request: pytest.FixtureRequest, backend: str) -> Iterator[str | None]:
    """None (the DAG's default SQLite file in its data folder) or a fresh Postgres schema."""
    if backend == "sqlite":
        yield None
        return
    from tests.conftest import _postgres_schema

    with _postgres_schema(request) as url:
        yield url


class _GarbageFeed(BaseHTTPRequestHandler):
    """A feed whose first page is fine and whose second page is garbage."""

    first_page: ClassVar[bytes] = b""
    garbage: ClassVar[bytes] = b""

    def do_GET(self) -> None:
        url = urlparse(self.path)
        after = int(parse_qs(url.query).get("after", ["0"])[0])
        body = self.first_page if url.path == "/v1/transactions" and after == 0 else self.garbage
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@contextmanager
def garbage_feed(first_records: list[dict[str, Any]], garbage: bytes) -> Iterator[str]:
    """Serve the garbage feed on a free loopback port."""
    handler = type(
        "Handler",
        (_GarbageFeed,),
        {
            "first_page": json.dumps(
                {"records": first_records, "cursor": len(first_records), "missed": 0,
                 "exhausted": False}
            ).encode(),
            "garbage": garbage,
        },
    )  # fmt: skip
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


#: Records that are not transactions: the feed URL points at some other service. (An answer
#: that is not JSON at all is tested without Airflow, in test_orchestration.py.)
GARBAGE = json.dumps({"records": [{"id": 1, "status": "ok"}] * 5, "cursor": 25}).encode()
GARBAGE_MESSAGE = "without the transaction column(s) trans_num, cc_num, amt"


def test_a_garbage_feed_fails_the_run_and_stores_nothing(
    airflow_python: Path,
    airflow_home: Path,
    data_dir: Path,
    feed_frames: list[pd.DataFrame],
) -> None:
    garbage, message = GARBAGE, GARBAGE_MESSAGE
    valid = json.loads(feed_frames[0].iloc[:20].to_json(orient="records"))
    with garbage_feed(valid, garbage) as url:
        result = dag_test(airflow_python, airflow_home, data_dir, url, None)
    assert result.state == "failed"
    assert result.task_state(FETCH) == "failed"
    assert {result.task_state(t) for t in (SCORE, STORE, ALERTS)} == {"upstream_failed"}
    assert message in result.log
    assert "Nothing was stored" in result.log
    store = store_of(None, data_dir)
    try:
        assert store.count("decisions") == 0
        assert store.count("dead_letter") == 0  # the 20 valid records are not dead letters
        assert store.checkpoint(f"feed:{url}") is None
    finally:
        store.close()


@contextmanager
def scoring_api(model_dir: Path) -> Iterator[str]:
    """The scoring API (no store of its own, one key) on a free loopback port."""
    from fraudwatch.api import create_app

    app = create_app(ScoringService.from_model_dir(model_dir, KEY), api_keys=[API_KEY])
    with serving(app) as url:
        yield url


def test_scores_through_the_api_when_it_is_configured(
    airflow_python: Path,
    airflow_home: Path,
    data_dir: Path,
    feed_frames: list[pd.DataFrame],
    model_folder: Path,
) -> None:
    with live_feed(feed_frames) as url, scoring_api(model_folder) as api_url:
        result = dag_test(
            airflow_python, airflow_home, data_dir, url, None,
            FRAUDWATCH_API_URL=api_url, FRAUDWATCH_API_KEY=API_KEY,
        )  # fmt: skip
        assert result.state == "success", result.log[-4000:]
        assert f"through the scoring API at {api_url}" in result.log
        reference = reference_probabilities(url, model_folder)
    store = store_of(None, data_dir)
    try:
        stored = decisions_of(store).set_index("trans_num")
        assert len(stored) == FED - INVALID
        np.testing.assert_allclose(
            stored["fraud_probability"].loc[reference.index].to_numpy(),
            reference.to_numpy(),
            rtol=1e-6,
        )
        assert store.count("dead_letter") == INVALID
    finally:
        store.close()
