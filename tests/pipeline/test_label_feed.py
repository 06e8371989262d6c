"""Labels reach the features at a recorded stream time: a replay gives the same decisions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from fraudwatch.pipeline.inputs import CsvReplay
from fraudwatch.pipeline.label_feed import LabelFeed
from fraudwatch.pipeline.runner import Runner
from fraudwatch.pipeline.service import ScoringService
from fraudwatch.sinks.store import Store
from fraudwatch.sources.csv_file import read_transactions
from fraudwatch.sources.labels import LabelReport
from tests.model.conftest import KEY


def _write(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index_label="")
    return path


def _probabilities(store: Store) -> pd.Series:
    query = sa.text("SELECT trans_num, fraud_probability FROM decisions ORDER BY trans_num")
    with store.engine.connect() as conn:
        frame = pd.read_sql(query, conn)
    return frame.set_index("trans_num")["fraud_probability"]


def test_a_replay_meets_the_labels_where_the_live_run_did(
    model_dir: Path, split_files: tuple[Path, Path], database_url: str, tmp_path: Path
) -> None:
    rows = pd.concat(read_transactions(split_files[1]), ignore_index=True)
    times = pd.to_datetime(rows["trans_date_trans_time"])
    start = times.min()
    early = rows[times < start + pd.Timedelta(days=12)]
    late = rows[(times >= start + pd.Timedelta(days=12)) & (times < start + pd.Timedelta(days=24))]
    first, second = _write(early, tmp_path / "first.csv"), _write(late, tmp_path / "second.csv")
    both = _write(pd.concat([early, late]), tmp_path / "both.csv")

    store = Store(database_url)
    store.upgrade()
    live = ScoringService.from_model_dir(model_dir, KEY)
    Runner(live, store, CsvReplay(first)).run()
    # the issuer charges back the first period's frauds while the stream is between periods
    frauds = early[early["is_fraud"] == 1]
    reported = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    outcome = store.add_labels(
        [
            LabelReport(trans_num=t, label=1, reported_at=reported, source="chargeback")
            for t in frauds["trans_num"]
        ]
    )
    assert outcome.applied == len(frauds) > 10
    Runner(live, store, CsvReplay(second)).run()
    assert live.labels is not None and live.labels.learnt == len(frauds)
    live_run = _probabilities(store)

    replay = ScoringService.from_model_dir(model_dir, KEY)
    Runner(replay, store, CsvReplay(both), max_batch=777).run()  # other cuts, labels stored
    assert replay.labels is not None and replay.labels.learnt == len(frauds)
    pd.testing.assert_series_equal(_probabilities(store), live_run)

    unlabelled = Store(f"sqlite:///{tmp_path / 'no_labels.db'}")
    unlabelled.upgrade()
    Runner(ScoringService.from_model_dir(model_dir, KEY), unlabelled, CsvReplay(both)).run()
    without = _probabilities(unlabelled)
    changed = (without - live_run).abs() > 1e-12
    assert changed.any()  # the labels did reach the features ...
    assert not changed[live_run.index.isin(early["trans_num"])].any()  # ... only after
    unlabelled.close()
    store.close()


def test_scoring_goes_on_when_the_labels_cannot_be_read(
    model_dir: Path, split_files: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    down = Store("postgresql+psycopg://nobody@127.0.0.1:1/none", retry_attempts=1)
    service = ScoringService.from_model_dir(model_dir, KEY)
    service.labels = LabelFeed(down)
    batch = next(read_transactions(split_files[1], chunk_rows=200))
    scored = service.score(batch, source="test")
    assert len(scored.decisions) == 200
    assert "labels not read" in caplog.text
    again = service.score(next(read_transactions(split_files[1], chunk_rows=10)), source="t")
    assert len(again.decisions) == 10  # reads paused: no second wait on the dead store
    assert caplog.text.count("labels not read") == 1
    down.close()
