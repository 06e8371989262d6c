"""What keeps the pipeline's latency low without changing what it decides.

The paced replay hands rows over by offset (one slice per arrival), the runner freezes
the long-lived heap so full garbage collections stay short, and the scoring service
builds its explainer before the first transaction needs it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from fraudwatch.pipeline.inputs import CsvReplay
from fraudwatch.pipeline.runner import Runner
from fraudwatch.pipeline.service import ScoringService
from fraudwatch.sinks.store import Store
from fraudwatch.sources.csv_file import read_transactions
from tests.model.conftest import KEY

ROWS = 600


@pytest.fixture(scope="module")
def replay_file(split_files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first test-period transactions as a Kaggle-layout file."""
    path = tmp_path_factory.mktemp("paced") / "paced.csv"
    next(read_transactions(split_files[1], limit=ROWS)).to_csv(path, index_label="")
    return path


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """The test process's collector as it was: nothing frozen before or after."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def _trans_nums(path: Path) -> list[str]:
    return pd.read_csv(path, index_col=0, dtype=str)["trans_num"].tolist()


def test_paced_replay_hands_over_every_row_once_in_order(replay_file: Path) -> None:
    source = CsvReplay(replay_file, rate=4000.0, chunk_rows=250)  # chunks end mid-arrival
    seen: list[str] = []
    positions: list[int] = []
    idle = 0
    for arrival in source.arrivals(None, threading.Event()):
        if not len(arrival.records):
            idle += 1
            continue
        seen.extend(arrival.records["trans_num"].tolist())
        positions.append(int(arrival.position or 0))
        assert len(arrival.received_at) == len(arrival.records)
    assert seen == _trans_nums(replay_file)
    assert positions == sorted(positions) and positions[-1] == ROWS
    assert len(positions) > 10 and idle > 0  # paced: many small arrivals, idle ticks between
    resumed: list[str] = []
    for arrival in CsvReplay(replay_file, rate=None, chunk_rows=250).arrivals(
        "260", threading.Event()
    ):
        resumed.extend(arrival.records["trans_num"].tolist())
    assert resumed == _trans_nums(replay_file)[260:]


@pytest.mark.parametrize("freeze", [True, False])
def test_the_runner_freezes_the_long_lived_heap(
    model_dir: Path, replay_file: Path, tmp_path: Path, unfrozen: None, freeze: bool
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'frozen.db'}")
    store.upgrade()
    service = ScoringService.from_model_dir(model_dir, KEY)
    summary = Runner(service, store, CsvReplay(replay_file), freeze_gc=freeze).run()
    store.close()
    assert summary.scored == ROWS
    assert (gc.get_freeze_count() > 0) is freeze


def test_warm_up_builds_the_explainer_before_the_first_flagged_transaction(
    model_dir: Path, replay_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fraudwatch.model.scorer as scorer_module

    service = ScoringService.from_model_dir(model_dir, KEY)
    service.warm_up()
    assert service.engine.cards == 0  # no card state moved

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("the explainer was built while scoring")

    monkeypatch.setattr(scorer_module, "PathExplainer", refuse)
    frame = next(read_transactions(replay_file))
    decisions = service.score(frame, source="test").decisions
    explained = decisions[decisions["reasons"] != "[]"]
    assert len(explained) > 0  # reasons were given, by the explainer warm_up built


def test_small_batches_commit_in_the_pipeline_thread_on_sqlite_only(
    model_dir: Path, replay_file: Path, database_url: str, tmp_path: Path
) -> None:
    """Small batches skip the writer thread on SQLite; large ones and Postgres still use it."""
    threads: list[tuple[str, int]] = []

    def note(decisions: pd.DataFrame) -> None:
        threads.append((threading.current_thread().name, len(decisions)))

    store = Store(database_url)
    store.upgrade()
    service = ScoringService.from_model_dir(model_dir, KEY)
    paced = CsvReplay(replay_file, rate=3000.0, chunk_rows=100)
    summary = Runner(service, store, paced, hooks=[note], freeze_gc=False).run()
    copy = tmp_path / "same_rows_again.csv"  # another source id: its rows are rewritten
    copy.write_bytes(replay_file.read_bytes())
    flat_out = CsvReplay(copy, rate=None, chunk_rows=ROWS)
    Runner(service, store, flat_out, hooks=[note], freeze_gc=False).run()
    assert store.count("decisions") == ROWS  # every row once, whichever thread wrote it
    assert store.checkpoint(paced.source_id) == str(ROWS)
    store.close()
    small = [name for name, rows in threads[: summary.batches] if rows <= 64]
    large = [name for name, rows in threads[summary.batches :] if rows > 64]
    assert small and large
    inline = store.backend == "sqlite"
    assert all((name == threading.current_thread().name) is inline for name in small)
    assert all(name == "fraudwatch-writer" for name in large)
