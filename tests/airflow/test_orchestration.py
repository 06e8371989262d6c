"""The DAG's task functions without Airflow: a Jedha-style feed, and an answer that is not JSON.

``fraud_ingest`` tasks are plain calls into :mod:`fraudwatch.orchestration.tasks`; these
tests run them in order, as the DAG does, in this process.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from fraudwatch.config import get_settings
from fraudwatch.orchestration import tasks
from fraudwatch.orchestration.fetch import FeedUnusableError, resume_position
from fraudwatch.sinks import Store
from fraudwatch.sources.feed_server import running_feed_server
from tests.airflow.conftest import KEY
from tests.airflow.test_fraud_ingest import garbage_feed

JEDHA_RATE = 4.0  # transactions per second; a run polls once a second


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> Path:
    """FRAUDWATCH_* settings of a worker: this test's data folder and PAN key."""
    monkeypatch.setenv("FRAUDWATCH_DATA_DIR", str(data_dir))
    monkeypatch.setenv("FRAUDWATCH_PAN_KEY", KEY.decode())
    get_settings.cache_clear()
    return data_dir


def run_once(run_id: str, seconds: float) -> dict[str, object]:
    """One DAG run's four tasks, in order."""
    fetched = tasks.fetch_transactions(run_id, jedha_poll_seconds=seconds)
    stored = tasks.store_decisions(tasks.score_transactions(fetched))
    return tasks.report_alerts(stored)


def stored_trans_nums(data_dir: Path) -> list[str]:
    """trans_num of every stored decision."""
    store = Store(f"sqlite:///{data_dir / 'fraudwatch.db'}")
    try:
        with store.engine.connect() as conn:
            return list(conn.execute(sa.text("SELECT trans_num FROM decisions")).scalars())
    finally:
        store.close()


def test_jedha_feed_runs_store_each_polled_transaction_once(
    monkeypatch: pytest.MonkeyPatch, configured: Path, feed_frames: list[pd.DataFrame]
) -> None:
    rows = pd.concat(feed_frames).iloc[20:60]  # valid rows only
    singles = [rows.iloc[[i]] for i in range(len(rows))]
    with running_feed_server(iter(singles), rate=JEDHA_RATE) as url:
        monkeypatch.setenv("FRAUDWATCH_FEED_URL", f"{url}/current-transactions")
        get_settings.cache_clear()
        first = run_once("manual__1", seconds=3.0)
        second = run_once("manual__2", seconds=3.0)
    assert (first["mode"], first["start"], first["end"]) == ("jedha", "0", "1")
    assert (second["start"], second["end"]) == ("1", "2")
    assert 2 <= int(str(first["stored"])) <= 5  # what ~3 polls a second apart saw
    stored = stored_trans_nums(configured)
    assert len(stored) == len(set(stored)) == int(str(first["stored"])) + int(str(second["stored"]))
    assert set(stored) <= set(rows["trans_num"])
    with Store(f"sqlite:///{configured / 'fraudwatch.db'}") as store:
        assert store.checkpoint(f"feed:{url}/current-transactions") == "2"


def test_an_answer_that_is_not_json_fails_the_fetch_and_stores_nothing(
    monkeypatch: pytest.MonkeyPatch, configured: Path, feed_frames: list[pd.DataFrame]
) -> None:
    valid = feed_frames[0].iloc[:20].to_dict("records")
    with garbage_feed(valid, b"<html><body>502 Bad Gateway</body></html>") as url:
        monkeypatch.setenv("FRAUDWATCH_FEED_URL", url)
        get_settings.cache_clear()
        with pytest.raises(FeedUnusableError, match="is not JSON") as raised:
            tasks.fetch_transactions("manual__garbage")
    assert "Nothing was stored; the checkpoint stays at 0" in str(raised.value)
    with Store(f"sqlite:///{configured / 'fraudwatch.db'}") as store:
        assert store.count("decisions") == store.count("dead_letter") == 0
        assert store.checkpoint(f"feed:{url}") is None


@pytest.mark.parametrize(
    ("checkpoint", "snapshot", "replayable", "expected"),
    [
        (None, None, True, (0, False)),
        ("100", "100", False, (100, True)),  # the snapshot belongs to the checkpoint
        ("100", "60", True, (60, True)),  # replay 60..100 with the card state at 60
        ("100", "60", False, (100, False)),  # a Jedha feed cannot replay: cold state
        ("100", "140", True, (100, False)),  # a snapshot ahead of the data is not used
    ],
)
def test_a_run_resumes_from_the_checkpoint_and_a_consistent_snapshot(
    checkpoint: str | None, snapshot: str | None, replayable: bool, expected: tuple[int, bool]
) -> None:
    assert resume_position(checkpoint, snapshot, replayable=replayable) == expected
