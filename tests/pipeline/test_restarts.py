"""Restarts and input failures are never silent: the status table, a restarted feed, exit codes."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fraudwatch.pipeline.inputs import Arrival, CsvReplay, FeedInput
from fraudwatch.pipeline.runner import Runner
from fraudwatch.pipeline.service import ScoringService
from fraudwatch.sinks.status import FAILED, FINISHED, read_statuses
from fraudwatch.sinks.store import Store
from fraudwatch.sources.csv_file import read_transactions
from tests.model.conftest import KEY

FIXTURE = Path(__file__).parents[1] / "fixtures" / "kaggle_fraudTest_head.csv"
PAN = "4263982640269299"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_finished_run_leaves_its_status_with_the_stream_clock(
    model_dir: Path, database_url: str
) -> None:
    store = Store(database_url)
    store.upgrade()
    service = ScoringService.from_model_dir(model_dir, KEY)
    summary = Runner(service, store, CsvReplay(FIXTURE)).run()
    (status,) = read_statuses(store)
    assert status.component == f"pipeline csv:{FIXTURE.resolve()}"
    assert status.state == FINISHED and status.processed == summary.scored + summary.rejected
    newest = pd.concat(list(read_transactions(FIXTURE)))["trans_date_trans_time"].max()
    assert status.stream_time == pd.Timestamp(newest).to_pydatetime()
    store.close()


class _BrokenInput:
    """An input that delivers a few rows, then fails with an error naming a card number."""

    kind, finite, source_id = "broken", True, "broken:test"

    def arrivals(self, position: str | None, stop: threading.Event) -> Iterator[Arrival]:
        rows = next(read_transactions(FIXTURE, chunk_rows=50))
        yield Arrival(rows, "50", np.full(len(rows), time.time()))
        raise ConnectionError(f"feed gone while reading card {PAN}")


def test_an_input_failure_is_written_to_the_status_table_and_raised(
    model_dir: Path, database_url: str
) -> None:
    store = Store(database_url)
    store.upgrade()
    runner = Runner(ScoringService.from_model_dir(model_dir, KEY), store, _BrokenInput())
    with pytest.raises(ConnectionError):
        runner.run()
    (status,) = read_statuses(store)
    assert status.state == FAILED and status.is_problem()
    assert status.detail is not None and status.detail.startswith("ConnectionError: feed gone")
    assert PAN not in status.detail
    assert store.checkpoint("broken:test") == "50"  # what came before the failure is stored
    store.close()


def _feed_process(port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "fraudwatch", "feed", "--source", str(FIXTURE),
               "--rate", "800", "--port", str(port)]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_kill_9_of_the_feed_then_a_new_feed_is_read_from_its_start(
    model_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The restarted feed counts from 0 again: our cursor is ahead, so it is read anew."""
    caplog.set_level(logging.WARNING)
    store = Store(f"sqlite:///{tmp_path / 'fw.db'}")
    store.upgrade()
    port = _free_port()
    feed = _feed_process(port)
    source = FeedInput(f"http://127.0.0.1:{port}", wait=0.2)
    runner = Runner(ScoringService.from_model_dir(model_dir, KEY), store, source)
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            runner.run(stop)
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run)
    try:
        thread.start()
        deadline = time.monotonic() + 60
        while store.count("decisions") < 1500 and time.monotonic() < deadline:
            time.sleep(0.1)
        feed.send_signal(signal.SIGKILL)
        feed.wait()
        before = store.count("decisions")
        assert before >= 1500
        feed = _feed_process(port)  # a new run of the feed: its cursors start again at 1
        read_before = runner.summary.read
        while store.count("decisions") < 5116:
            assert time.monotonic() < deadline + 60, store.count("decisions")
            assert thread.is_alive(), f"the pipeline stopped: {errors} {runner.summary}"
            time.sleep(0.2)
    finally:
        stop.set()
        feed.kill()
        feed.wait()
        thread.join(30)
    assert "restarted" in caplog.text and "reading it from its start" in caplog.text
    assert runner.summary.read >= read_before + 5116, (read_before, runner.summary)
    assert store.count("decisions") == 5116  # re-sent transactions upserted: each stored once
    store.close()


def test_run_exits_1_with_one_line_when_its_input_fails(model_dir: Path, tmp_path: Path) -> None:
    """A feed URL that answers 404 stops the run: a clear line, exit 1, a failed status row."""
    from fraudwatch.sources.feed_server import running_feed_server

    database = tmp_path / "fw.db"
    env = {**os.environ, "FRAUDWATCH_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    with running_feed_server(iter([]), rate=1) as url:
        source = f"{url}/no-such-feed"
        store_url = f"sqlite:///{database}"
        command = [sys.executable, "-m", "fraudwatch", "run", "--source", source,
                   "--model-dir", str(model_dir), "--database-url", store_url]  # fmt: skip
        finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 1, finished.stderr
    assert "the pipeline stopped: FeedError" in finished.stdout + finished.stderr
    assert "Traceback" not in finished.stdout + finished.stderr
    store = Store(f"sqlite:///{database}")
    (status,) = read_statuses(store)
    assert status.state == FAILED and status.detail is not None and "404" in status.detail
    store.close()
