"""The DAG's in-process scoring is the scoring service's: same decisions, clock and card state.

Without Airflow: each run is staged as the fetch task stages it and scored by
:func:`~fraudwatch.orchestration.score.score_run`, then stored by
:func:`~fraudwatch.orchestration.persist.store_run`, as the tasks do.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fraudwatch.features.shared import RedisCardState
from fraudwatch.model.registry import load_bundle
from fraudwatch.orchestration import persist, staging
from fraudwatch.orchestration.score import score_run
from fraudwatch.orchestration.staging import RunBatch
from fraudwatch.pipeline.inputs import CsvReplay
from fraudwatch.pipeline.prepare import prepare_batch
from fraudwatch.pipeline.runner import Runner
from fraudwatch.pipeline.service import ScoringService
from fraudwatch.pipeline.snapshots import state_file
from fraudwatch.sinks import Store
from fraudwatch.sources.csv_file import read_transactions
from tests.airflow.conftest import KEY

SOURCE_ID = "feed:http://feed.test"
COLUMNS = ["trans_num", "fraud_probability", "decision", "risk_level", "reasons"]


def stage_run(root: Path, records: pd.DataFrame, start: int, end: int, *, warm: bool) -> RunBatch:
    """A run's staging folder as the fetch task leaves it (prepared records, dead letters)."""
    folder = root / f"run-{start}-{end}"
    folder.mkdir(parents=True)
    prepared = prepare_batch(records.reset_index(drop=True), KEY)
    staging.write_transactions(
        folder, prepared.transactions, np.full(len(prepared.transactions), time.time())
    )
    staging.write_dead_letters(folder, [])
    return RunBatch(
        folder=str(folder), source_id=SOURCE_ID, mode="cursor", start=str(start), end=str(end),
        fetched=len(records), valid=len(prepared.transactions), warm=warm,
    )  # fmt: skip


def stored_decisions(store: Store) -> pd.DataFrame:
    """The stored decisions by trans_num (the columns a decision is made of)."""
    with store.engine.connect() as conn:
        frame = pd.read_sql(f"SELECT {', '.join(COLUMNS)} FROM decisions", conn)
    return frame.set_index("trans_num").sort_index()


def test_dag_runs_decide_as_the_streaming_pipeline_on_the_same_input(
    model_folder: Path, feed_csv: Path, tmp_path: Path
) -> None:
    """Two DAG runs (the second continuing the first's snapshot) store what one `run` stores."""
    pipeline_store = Store(f"sqlite:///{tmp_path / 'pipeline.db'}")
    pipeline_store.upgrade()
    Runner(
        ScoringService.from_model_dir(model_folder, KEY),
        pipeline_store,
        CsvReplay(feed_csv),
        max_batch=64,
    ).run()
    records = pd.concat(read_transactions(feed_csv))
    dag_store = Store(f"sqlite:///{tmp_path / 'dag.db'}")
    dag_store.upgrade()
    state_dir = tmp_path / "state"
    for start, end in ((0, 100), (100, len(records))):
        batch = stage_run(tmp_path / "staging", records.iloc[start:end], start, end, warm=start > 0)
        service = ScoringService.from_model_dir(model_folder, KEY)  # a new process per task
        batch = score_run(batch, service=service, state_dir=state_dir)
        persist.store_run(dag_store, batch, state_dir)
    assert state_file(state_dir, SOURCE_ID).is_file()  # the second run continued the first's
    ours, theirs = stored_decisions(dag_store), stored_decisions(pipeline_store)
    assert len(ours) == len(records) - 2  # the two invalid records are not scored
    pd.testing.assert_index_equal(ours.index, theirs.index)
    np.testing.assert_allclose(ours["fraud_probability"], theirs["fraud_probability"], rtol=1e-6)
    assert (
        (
            ours[["decision", "risk_level", "reasons"]]
            == theirs[["decision", "risk_level", "reasons"]]
        )
        .all()
        .all()
    )
    dag_store.close()
    pipeline_store.close()


def test_a_dag_run_continues_the_card_state_fraudwatch_run_saved(
    model_folder: Path, feed_csv: Path, tmp_path: Path
) -> None:
    """One snapshot file, one format: the DAG restores what the runner snapshotted."""
    records = pd.concat(read_transactions(feed_csv))
    head = tmp_path / "head.csv"
    records.iloc[:100].to_csv(head, index=True)
    store = Store(f"sqlite:///{tmp_path / 'shared.db'}")
    store.upgrade()
    replay = CsvReplay(head)
    replay.source_id = SOURCE_ID  # the same source as the DAG's feed
    state_dir = tmp_path / "state"
    Runner(
        ScoringService.from_model_dir(model_folder, KEY), store, replay, state_dir=state_dir
    ).run()
    assert store.checkpoint(SOURCE_ID) == "100" and state_file(state_dir, SOURCE_ID).is_file()
    batch = stage_run(tmp_path / "staging", records.iloc[100:], 100, len(records), warm=True)
    batch = score_run(
        batch, service=ScoringService.from_model_dir(model_folder, KEY), state_dir=state_dir
    )
    persist.store_run(store, batch, state_dir)
    alone = ScoringService.from_model_dir(model_folder, KEY).score(records, source="feed")
    expected = alone.decisions.set_index("trans_num").sort_index()
    stored = stored_decisions(store)
    np.testing.assert_allclose(
        stored["fraud_probability"], expected.loc[stored.index, "fraud_probability"], rtol=1e-6
    )
    store.close()


def test_the_dag_scores_on_the_shared_card_state_in_redis(
    model_folder: Path, feed_csv: Path, tmp_path: Path, redis_address: tuple[str, int]
) -> None:
    """With Redis the DAG's card history is shared: another process continues it exactly."""
    host, port = redis_address
    shared = RedisCardState(f"redis://{host}:{port}/0", namespace=f"fw-test:{uuid.uuid4().hex}:")
    try:
        records = pd.concat(read_transactions(feed_csv)).reset_index(drop=True)
        bundle = load_bundle(model_folder)
        dag = ScoringService(bundle, KEY, shared=shared)
        batch = stage_run(tmp_path / "staging", records.iloc[:120], 0, 120, warm=False)
        scored = score_run(batch, service=dag, state_dir=tmp_path / "state")
        assert scored.scored == 119  # one invalid record among the first 120
        assert not (batch.path / staging.SNAPSHOT_FILE).exists()  # the state is in Redis
        cards = list(shared.client.scan_iter(match=shared.namespace + "*"))
        assert len(cards) > 1  # card states (and the stream clock) were written there
        # another process (the API, say) scores the rest on the DAG's card history ...
        api = ScoringService(bundle, KEY, shared=shared)
        rest = api.score(records.iloc[120:], source="api").decisions.set_index("trans_num")
        # ... exactly as one process that scored everything itself
        alone = ScoringService(bundle, KEY).score(records, source="api").decisions
        expected = alone.set_index("trans_num").loc[rest.index, "fraud_probability"]
        np.testing.assert_allclose(rest["fraud_probability"], expected, rtol=1e-6)
    finally:
        shared.clear()
        shared.close()


def test_a_staged_record_the_stream_clock_refuses_becomes_a_dead_letter(
    model_folder: Path, feed_csv: Path, tmp_path: Path
) -> None:
    """The DAG judges event times like `fraudwatch run` and the API (it used to score them)."""
    records = pd.concat(read_transactions(feed_csv)).iloc[:40].reset_index(drop=True)
    records.loc[7, "trans_date_trans_time"] = "2031-01-01 00:00:00"  # years ahead
    records.loc[7, "unix_time"] = 1924992000
    batch = stage_run(tmp_path / "staging", records, 0, 40, warm=False)
    valid = batch.valid
    service = ScoringService.from_model_dir(model_folder, KEY)
    scored = score_run(batch, service=service, state_dir=tmp_path / "state")
    assert scored.scored == valid - 1
    assert scored.rejected == batch.rejected + 1
    letters = staging.read_dead_letters(batch.path)
    assert [letter.record["trans_num"] for letter in letters] == [records.loc[7, "trans_num"]]
    assert "ahead of the stream clock" in letters[0].reason
    assert "cc_num" not in letters[0].record  # the staged record: token and masked card only
    store = Store(f"sqlite:///{tmp_path / 'dag.db'}")
    store.upgrade()
    persist.store_run(store, scored, tmp_path / "state")
    assert store.count("dead_letter") == 1
    assert store.count("decisions") == valid - 1
    store.close()


@pytest.fixture(autouse=True)
def _quiet_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default clock policy (1 day ahead, 30 days behind), whatever the environment says."""
    monkeypatch.delenv("FRAUDWATCH_MAX_EVENT_SKEW", raising=False)
    monkeypatch.delenv("FRAUDWATCH_MAX_EVENT_AGE", raising=False)
    from fraudwatch.config import get_settings

    get_settings.cache_clear()


def test_the_tasks_keep_the_card_state_in_redis_when_configured(
    monkeypatch: pytest.MonkeyPatch,
    data_dir: Path,
    feed_frames: list[pd.DataFrame],
    redis_address: tuple[str, int],
) -> None:
    """FRAUDWATCH_REDIS_URL: the score task's service holds its cards in Redis, no file."""
    from fraudwatch.config import get_settings
    from fraudwatch.features.shared import DEFAULT_NAMESPACE
    from fraudwatch.orchestration import tasks
    from fraudwatch.sources.feed_server import running_feed_server

    host, port = redis_address
    redis_url = f"redis://{host}:{port}/13"  # a database of its own: the keys are the defaults
    shared = RedisCardState(redis_url)
    shared.clear()
    monkeypatch.setenv("FRAUDWATCH_DATA_DIR", str(data_dir))
    monkeypatch.setenv("FRAUDWATCH_PAN_KEY", KEY.decode())
    monkeypatch.setenv("FRAUDWATCH_REDIS_URL", redis_url)
    try:
        with running_feed_server(iter(feed_frames), rate=10_000.0) as url:
            monkeypatch.setenv("FRAUDWATCH_FEED_URL", url)
            get_settings.cache_clear()
            time.sleep(0.5)  # let the feed publish
            fetched = tasks.fetch_transactions("manual__redis", max_records=100)
            scored = tasks.score_transactions(fetched)
            tasks.report_alerts(tasks.store_decisions(scored))
        assert int(scored["scored"]) > 0
        keys = list(shared.client.scan_iter(match=DEFAULT_NAMESPACE + "*", count=1000))
        assert len(keys) > 1  # the cards (and the stream clock) are in Redis
        assert not list(data_dir.glob("state/features-*.pkl"))  # and not in a local file
    finally:
        get_settings.cache_clear()
        shared.clear()
        shared.close()
