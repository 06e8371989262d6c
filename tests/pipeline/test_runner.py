"""The streaming pipeline end to end, on SQLite and a real PostgreSQL server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from fraudwatch.pipeline.inputs import CsvReplay, FeedInput, SimulatorInput
from fraudwatch.pipeline.runner import Runner
from fraudwatch.pipeline.service import ScoringService
from fraudwatch.sinks.store import Store
from fraudwatch.sources.csv_file import read_transactions
from fraudwatch.sources.feed_server import running_feed_server
from tests.model.conftest import KEY

ROWS = 10_000


@pytest.fixture(scope="module")
def ten_thousand(split_files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 10,000 test-period transactions as a Kaggle-layout file."""
    path = tmp_path_factory.mktemp("replay") / "replay.csv"
    frame = next(read_transactions(split_files[1], chunk_rows=ROWS))
    frame.to_csv(path, index_label="")
    return path


def _trans_nums(path: Path) -> set[str]:
    return set(pd.read_csv(path, index_col=0, dtype=str)["trans_num"])


def _stored(store: Store) -> pd.DataFrame:
    with store.engine.connect() as connection:
        return pd.read_sql(sa.text("SELECT * FROM decisions"), connection)


def test_replay_twice_stores_each_transaction_once(
    model_dir: Path, ten_thousand: Path, database_url: str, tmp_path: Path
) -> None:
    store = Store(database_url)
    store.upgrade()
    service = ScoringService.from_model_dir(model_dir, KEY)
    first = Runner(service, store, CsvReplay(ten_thousand), max_batch=1000).run()
    assert first.read == ROWS and first.scored == ROWS and first.rejected == 0
    copy = tmp_path / "same_transactions_again.csv"  # another source id: no checkpoint helps
    copy.write_bytes(ten_thousand.read_bytes())
    Runner(ScoringService.from_model_dir(model_dir, KEY), store, CsvReplay(copy)).run()
    stored = _stored(store)
    assert len(stored) == ROWS
    assert set(stored["trans_num"]) == _trans_nums(ten_thousand)
    assert store.checkpoint(CsvReplay(ten_thousand).source_id) == str(ROWS)
    assert (stored["decision"] == (stored["fraud_probability"] >= stored["threshold"])).all()
    flagged = stored[stored["decision"] == 1]
    assert store.count("alerts") == len(flagged) > 0
    assert all(json.loads(reasons) for reasons in flagged["reasons"])
    store.close()


def test_malformed_records_are_dead_lettered_with_reasons(
    model_dir: Path, ten_thousand: Path, database_url: str, tmp_path: Path
) -> None:
    frame = pd.read_csv(ten_thousand, index_col=0, dtype=str).iloc[:500]
    frame.iloc[3, frame.columns.get_loc("amt")] = "-12"
    frame.iloc[7, frame.columns.get_loc("category")] = "casino"
    frame.iloc[9, frame.columns.get_loc("lat")] = "north"
    broken = tmp_path / "broken.csv"
    frame.to_csv(broken, index_label="")
    store = Store(database_url)
    store.upgrade()
    summary = Runner(ScoringService.from_model_dir(model_dir, KEY), store, CsvReplay(broken)).run()
    assert (summary.scored, summary.rejected) == (497, 3)
    with store.engine.connect() as connection:
        letters = pd.read_sql(sa.text("SELECT reason, record FROM dead_letter"), connection)
    reasons = set(letters["reason"])
    assert {"amt: must be >= 0", "lat: must be a number"} <= reasons
    assert any(reason.startswith("category: unknown category") for reason in reasons)
    for record in letters["record"]:
        assert json.loads(record)["cc_num"].count("*") >= 5  # masked, never the PAN
    store.close()


def test_a_crash_between_slices_of_a_flush_replays_dead_letters_once(
    model_dir: Path, ten_thousand: Path, database_url: str, tmp_path: Path
) -> None:
    """A 60-record flush goes out in three slices of 20; only the last one carries the
    checkpoint. Dying after the first slice and resuming must not store its dead letters
    twice (decisions are upserts; dead letters have no key)."""
    frame = pd.read_csv(ten_thousand, index_col=0, dtype=str).iloc[:60]
    frame.iloc[::10, frame.columns.get_loc("amt")] = "-1"  # 6 bad records, 2 per slice
    broken = tmp_path / "broken.csv"
    frame.to_csv(broken, index_label="")
    store = Store(database_url)
    store.upgrade()
    writes = []

    def die_on_the_second_write(decisions: pd.DataFrame) -> None:
        writes.append(len(decisions))
        if len(writes) == 2:
            raise RuntimeError("the process dies between slices")

    def runner(*hooks: object) -> Runner:
        service = ScoringService.from_model_dir(model_dir, KEY)
        source = CsvReplay(broken, chunk_rows=60)
        return Runner(service, store, source, max_batch=20, hooks=hooks, freeze_gc=False)

    with pytest.raises(RuntimeError, match="dies between slices"):
        runner(die_on_the_second_write).run()
    assert store.checkpoint(CsvReplay(broken).source_id) is None
    summary = runner().run()
    assert (summary.scored, summary.rejected) == (54, 6)
    assert store.count("decisions") == 54
    assert store.count("dead_letter") == 6
    store.close()


def test_no_card_number_in_the_database_or_the_logs(
    model_dir: Path, ten_thousand: Path, database_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    from fraudwatch.log import configure_logging

    configure_logging("DEBUG")
    store = Store(database_url)
    store.upgrade()
    Runner(
        ScoringService.from_model_dir(model_dir, KEY), store, CsvReplay(ten_thousand), log_every=0.0
    ).run()
    pans = set(pd.read_csv(ten_thousand, index_col=0, dtype=str)["cc_num"])
    logs = capfd.readouterr().err
    assert "pipeline csv" in logs
    with store.engine.connect() as connection:
        for table in (
            "decisions",
            "alerts",
            "labels",
            "dead_letter",
            "model_versions",
            "checkpoints",
        ):
            text = pd.read_sql(sa.text(f"SELECT * FROM {table}"), connection).astype(str).to_csv()
            assert not any(pan in text for pan in pans), table
    assert not any(pan in logs for pan in pans)
    store.close()


def _environment(database_url: str, tmp_path: Path) -> dict[str, str]:
    return dict(
        os.environ,
        FRAUDWATCH_DATABASE_URL=database_url,
        FRAUDWATCH_DATA_DIR=str(tmp_path / "data"),
        FRAUDWATCH_PAN_KEY=KEY.decode(),
    )


def _run_command(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "fraudwatch", *args], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_kill_9_then_restart_stores_every_transaction_exactly_once(
    model_dir: Path, ten_thousand: Path, database_url: str, tmp_path: Path
) -> None:
    env = _environment(database_url, tmp_path)
    store = Store(database_url)
    store.upgrade()
    args = ["run", "--source", str(ten_thousand), "--model-dir", str(model_dir)]
    process = _run_command([*args, "--rate", "2500", "--batch-size", "200"], env)
    deadline = time.monotonic() + 60
    while (
        store.count("decisions") < 2500 and time.monotonic() < deadline and process.poll() is None
    ):
        time.sleep(0.1)
    assert process.poll() is None, process.communicate()[1]
    process.send_signal(signal.SIGKILL)
    process.wait()
    interrupted = store.count("decisions")
    assert 0 < interrupted < ROWS
    finished = _run_command(args, env)
    out, err = finished.communicate(timeout=300)
    assert finished.returncode == 0, err
    assert "resumed from position" in err + out
    stored = _stored(store)
    assert len(stored) == ROWS
    assert set(stored["trans_num"]) == _trans_nums(ten_thousand)
    store.close()


def test_sigterm_flushes_the_current_batch(
    model_dir: Path, database_url: str, tmp_path: Path
) -> None:
    env = _environment(database_url, tmp_path)
    process = _run_command(["run", "--source", "simulator", "--model-dir", str(model_dir),
                            "--rate", "300"], env)  # fmt: skip
    time.sleep(6)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    summary = (out + err).replace(",", "")
    scored = int(summary.split("scored ")[-1].split()[0]) if "scored " in summary else -1
    store = Store(database_url)
    assert scored > 100
    assert store.count("decisions") == scored
    store.close()


def test_feed_source_and_time_based_micro_batches(
    model_dir: Path, ten_thousand: Path, database_url: str
) -> None:
    """A slow feed is flushed within the time budget, not held until a batch fills."""
    store = Store(database_url)
    store.upgrade()
    frames = read_transactions(ten_thousand, chunk_rows=300, limit=300)
    with running_feed_server(frames, rate=150.0) as url:
        runner = Runner(ScoringService.from_model_dir(model_dir, KEY), store,
                        FeedInput(url, wait=0.2), max_batch=1000, max_wait=0.02)  # fmt: skip
        summary = runner.run()
    assert summary.scored == 300
    assert summary.batches > 10  # many small batches: flushed on time, not on size
    latencies = _stored(store)["latency_ms"].to_numpy()
    assert np.median(latencies) < 200
    store.close()


def test_simulator_input_resumes_deterministically(model_dir: Path, database_url: str) -> None:
    import datetime as dt

    source = SimulatorInput(50, 3, dt.date(2024, 1, 1), rate=None)
    stop = threading.Event()
    first = []
    for arrival in source.arrivals(None, stop):
        first.append(arrival.records)
        if sum(len(f) for f in first) >= 3000:
            break
    head = pd.concat(first)
    position = str(1200)
    resumed = next(iter(source.arrivals(position, stop))).records
    assert list(resumed["trans_num"][:50]) == list(head["trans_num"].iloc[1200:1250])


def test_run_keeps_card_state_in_redis_when_configured(
    model_dir: Path, ten_thousand: Path, tmp_path: Path, redis_address: tuple[str, int]
) -> None:
    """`fraudwatch run` with FRAUDWATCH_REDIS_URL: one Redis hash per card, no local snapshot."""
    from fraudwatch.features.shared import DEFAULT_NAMESPACE, RedisCardState

    host, port = redis_address
    redis_url = f"redis://{host}:{port}/15"  # a database of its own: the keys are the defaults
    shared = RedisCardState(redis_url)
    shared.clear()
    small = tmp_path / "small.csv"
    frame = pd.read_csv(ten_thousand, index_col=0, nrows=500)
    frame.to_csv(small, index_label="")
    env = _environment(f"sqlite:///{tmp_path / 'redis_run.db'}", tmp_path)
    env["FRAUDWATCH_REDIS_URL"] = redis_url
    try:
        process = _run_command(["run", "--source", str(small), "--model-dir", str(model_dir)], env)
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        keys = list(shared.client.scan_iter(match=DEFAULT_NAMESPACE + "*", count=1000))
        cards = [key for key in keys if not key.endswith(b"stream-clock")]
        assert len(cards) == frame["cc_num"].nunique()  # one state per card, keyed by token
        assert len(keys) == len(cards) + 1  # and the shared stream clock
        assert not any(str(number).encode() in key for number in frame["cc_num"] for key in keys)
        assert not list((tmp_path / "data").glob("state/features-*.pkl"))  # state is in Redis
    finally:
        shared.clear()
        shared.close()
