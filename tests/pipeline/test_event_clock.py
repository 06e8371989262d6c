"""Event times judged against the stream's clock (issue 12.4): unit rules, then the pipeline."""

from __future__ import annotations

import itertools
import json
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from fraudwatch.features import OnlineFeatures
from fraudwatch.features.shared import RedisCardState
from fraudwatch.pipeline.event_clock import REANCHOR_RUN, ClockPolicy, judge
from fraudwatch.pipeline.inputs import CsvReplay
from fraudwatch.pipeline.runner import Runner
from fraudwatch.pipeline.service import ScoringService
from fraudwatch.sinks.store import Store
from tests.conftest import KAGGLE_HEAD
from tests.model.conftest import KEY

DAY = 86_400_000
T0 = 1_750_000_000_000  # 2025-06-15
DEFAULTS = ClockPolicy(max_skew_ms=DAY, max_age_ms=30 * DAY)


def _times(*offsets_days: float) -> np.ndarray:
    return np.array([T0 + int(days * DAY) for days in offsets_days], dtype=np.int64)


def test_records_within_the_window_pass_and_move_the_clock() -> None:
    verdict = judge(_times(0, 0.5, 0.2, 1.4, -20), T0, [], DEFAULTS)
    assert verdict.accepted.all() and verdict.errors == {}
    assert verdict.clock_ms == T0 + int(1.4 * DAY)  # each step within a day of the one before


def test_far_behind_and_far_ahead_are_refused_with_how_far() -> None:
    small_skew = ClockPolicy(max_skew_ms=DAY, max_age_ms=30 * DAY)
    verdict = judge(_times(0, -6 * 365.25, 0.1, 3.0, 0.2), T0, [], small_skew)
    assert verdict.accepted.tolist() == [True, False, True, False, True]
    behind, ahead = verdict.errors[1], verdict.errors[3]
    assert behind.field == ahead.field == "event_time"
    assert behind.message.startswith("event time is 6.0 years behind the stream clock")
    assert "2025-06-15" in behind.message and "FRAUDWATCH_MAX_EVENT_AGE" in behind.message
    assert ahead.message.startswith("event time is 2.9 days ahead of the stream clock")
    assert "FRAUDWATCH_MAX_EVENT_SKEW" in ahead.message
    assert verdict.clock_ms == T0 + int(0.2 * DAY)  # refused records never move the clock


def test_an_empty_clock_starts_at_the_first_batchs_median_not_at_a_wild_record() -> None:
    """A first batch spanning years: the wild record (first in arrival order) is outvoted."""
    verdict = judge(_times(-6 * 365, 0, 0.01, 0.02, 0.03), None, [], DEFAULTS)
    assert verdict.accepted.tolist() == [False, True, True, True, True]
    assert verdict.clock_ms == T0 + int(0.03 * DAY)
    # a replay file's first chunk (a day of records, in order) passes whole
    replay = judge(_times(*np.linspace(0, 1, 50)), None, [], DEFAULTS)
    assert replay.accepted.all() and replay.clock_ms == T0 + DAY


def test_a_run_of_agreeing_records_moves_the_clock_one_wild_record_never_does() -> None:
    # a stream back after a week's pause: the first records are refused, then the clock moves
    week = _times(*(7 + 0.001 * i for i in range(REANCHOR_RUN + 2)))
    verdict = judge(week, T0, [], DEFAULTS)
    expected = [False] * (REANCHOR_RUN - 1) + [True] * 3
    assert verdict.accepted.tolist() == expected
    # wild records that disagree, or that are interrupted by an accepted one, never do
    wild = _times(900, 0.1, 901, 0.2, 902, 0.3, 903, 0.4, 904, 0.5, -400, -800, -1200, 0.6)
    verdict = judge(wild, T0, [], DEFAULTS)
    assert verdict.accepted.tolist() == [i % 2 == 1 for i in range(10)] + [False] * 3 + [True]
    assert verdict.clock_ms == T0 + int(0.6 * DAY)


def test_verdicts_do_not_depend_on_how_the_input_is_cut_into_batches() -> None:
    rng = np.random.default_rng(3)
    offsets = np.cumsum(rng.exponential(0.05, 400))
    offsets[rng.choice(400, 40, replace=False)] += rng.choice([-3000, -40, 3, 9, 5000], 40)
    times = _times(*offsets)
    whole = judge(times, T0, [], DEFAULTS)
    accepted: list[bool] = []
    clock: int | None = T0
    run: list[int] = []
    cuts = [0, 1, 7, 50, 51, 130, 260, 399, 400]
    for start, end in itertools.pairwise(cuts):
        verdict = judge(times[start:end], clock, run, DEFAULTS)
        accepted += verdict.accepted.tolist()
        clock, run = verdict.clock_ms, verdict.run
    assert accepted == whole.accepted.tolist() and clock == whole.clock_ms
    assert 0 < len(whole.errors) < 60


# -- the scoring service and the pipeline --------------------------------------------------


def _kaggle_rows(limit: int) -> pd.DataFrame:
    frame = pd.read_csv(KAGGLE_HEAD, index_col=0, dtype=str, nrows=limit, keep_default_na=False)
    return frame.sort_values("trans_date_trans_time", kind="stable")


def test_pipeline_dead_letters_records_off_the_stream_clock_and_stores_the_rest(
    model_dir: Path, database_url: str, tmp_path: Path
) -> None:
    frame = _kaggle_rows(300)
    when = frame.columns.get_loc("trans_date_trans_time")
    frame.iloc[120, when] = "2014-06-21 12:00:00"  # 6 years behind the 2020 stream
    frame.iloc[160, when] = "2199-06-21 12:00:00"  # outside 2000-2100
    moment = pd.Timestamp(frame.iloc[200, when]) + pd.Timedelta(days=3)
    frame.iloc[200, when] = f"{moment:%Y-%m-%d %H:%M:%S}"  # 3 days ahead
    path = tmp_path / "off_clock.csv"
    frame.to_csv(path, index_label="")
    store = Store(database_url)
    store.upgrade()
    policy = ClockPolicy(max_skew_ms=DAY, max_age_ms=30 * DAY)  # a small skew: 1 day
    service = ScoringService.from_model_dir(model_dir, KEY)
    service.clock_policy = policy
    summary = Runner(service, store, CsvReplay(path), max_batch=100).run()
    assert (summary.scored, summary.rejected) == (297, 3)
    with store.engine.connect() as connection:
        letters = pd.read_sql(sa.text("SELECT reason, record FROM dead_letter"), connection)
        stored = pd.read_sql(sa.text("SELECT trans_num, event_time FROM decisions"), connection)
    refused = {json.loads(record)["trans_num"]: reason for reason, record in letters.values}
    trans = frame["trans_num"].tolist()
    assert refused[trans[120]].startswith("event_time: event time is 6.0 years behind")
    assert refused[trans[160]].startswith("trans_date_trans_time: must lie between 2000")
    assert refused[trans[200]].startswith("event_time: event time is 3.0 days ahead")
    assert set(stored["trans_num"]) == set(trans) - set(refused)
    assert pd.to_datetime(stored["event_time"]).dt.year.unique().tolist() == [2020]
    store.close()


def test_kaggle_replay_passes_the_clock_with_default_settings(
    model_dir: Path, tmp_path: Path
) -> None:
    """The 2019-2020 files, years behind the wall clock, are judged by their own clock."""
    store = Store(f"sqlite:///{tmp_path / 'replay.db'}")
    store.upgrade()
    service = ScoringService.from_model_dir(model_dir, KEY)
    assert service.clock_policy == ClockPolicy(DAY, 30 * DAY)  # the settings' defaults
    summary = Runner(service, store, CsvReplay(KAGGLE_HEAD), max_batch=500).run()
    assert (summary.read, summary.scored, summary.rejected) == (5116, 5116, 0)
    assert service.engine.stream_clock_ms == pd.Timestamp("2020-06-22 19:11:19").value // 10**6
    store.close()


def test_the_stream_clock_survives_a_snapshot_and_restore(model_dir: Path) -> None:
    rows = _kaggle_rows(50)
    service = ScoringService.from_model_dir(model_dir, KEY)
    assert not service.score(rows.iloc[:40], source="test").rejected
    old = rows.iloc[[45]].assign(trans_date_trans_time="2014-06-21 12:00:00")
    outlier = old.assign(trans_date_trans_time="2020-12-01 00:00:00")
    assert len(service.score(outlier, source="test").rejected) == 1  # joins the pending run

    restored = ScoringService.from_model_dir(model_dir, KEY)
    restored.engine = OnlineFeatures.restore(service.engine.snapshot(), restored.bundle.reference)
    assert restored.engine.stream_clock_ms == service.engine.stream_clock_ms is not None
    assert restored.engine.clock_run == service.engine.clock_run != []
    [rejection] = restored.score(old, source="test").rejected
    assert rejection.reason.startswith("event_time: event time is 6.0 years behind")
    # a fresh service has no clock: the same record alone would set it
    fresh = ScoringService.from_model_dir(model_dir, KEY)
    assert not fresh.score(old, source="test").rejected


@pytest.mark.parametrize("rows", [3, 200])  # the column-array path and the frame path
def test_all_or_nothing_moves_no_state(model_dir: Path, rows: int) -> None:
    frame = _kaggle_rows(rows + 10)
    service = ScoringService.from_model_dir(model_dir, KEY)
    service.score(frame.iloc[:10], source="test")
    clock, cards = service.engine.stream_clock_ms, service.engine.cards
    batch = frame.iloc[10:].copy()
    batch.iloc[1, batch.columns.get_loc("trans_date_trans_time")] = "2014-01-01 00:00:00"
    scored = service.score(batch, source="test", all_or_nothing=True)
    assert len(scored.decisions) == 0 and [r.position for r in scored.rejected] == [1]
    assert (service.engine.stream_clock_ms, service.engine.cards) == (clock, cards)
    partial = service.score(batch, source="test")  # the stream's way: the rest is scored
    assert len(partial.decisions) == rows - 1 and len(partial.rejected) == 1


def test_processes_sharing_card_state_in_redis_share_one_stream_clock(
    model_dir: Path, redis_address: tuple[str, int]
) -> None:
    host, port = redis_address
    url, namespace = f"redis://{host}:{port}/0", f"fraudwatch-test:{uuid.uuid4().hex}:"
    try:
        pipeline, api = (
            ScoringService.from_model_dir(model_dir, KEY, redis_url=url) for _ in range(2)
        )
        for service in (pipeline, api):
            assert service.shared is not None
            service.shared.namespace = namespace
        rows = _kaggle_rows(30)
        assert not pipeline.score(rows.iloc[:20], source="test").rejected
        assert api.engine.stream_clock_ms is None  # this process has scored nothing yet
        old = rows.iloc[[25]].assign(trans_date_trans_time="2014-06-21 12:00:00")
        [rejection] = api.score(old, source="test").rejected
        assert rejection.reason.startswith("event_time: event time is 6.0 years behind")
        assert not api.score(rows.iloc[20:], source="test").rejected
        newest = pd.Timestamp(rows["trans_date_trans_time"].iloc[-1]).value // 10**6
        assert pipeline.shared is not None and pipeline.shared.read_clock() == newest
    finally:
        RedisCardState(url, namespace=namespace).clear()
