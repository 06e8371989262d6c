"""The CLI reads ``--source`` through the one dispatch, and its store from the settings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fraudwatch.cli import app
from fraudwatch.cli.live import _feed_source
from fraudwatch.pipeline import inputs
from fraudwatch.pipeline.inputs import CsvReplay, SimulatorInput, open_input
from fraudwatch.sources.csv_file import read_transactions

FIXTURE = Path(__file__).parent / "fixtures" / "kaggle_fraudTest_head.csv"


class ReachedError(Exception):
    """Raised by the stand-ins below: the code under test reached them."""


def test_the_feed_reads_its_source_through_open_input(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    real = inputs.open_input

    def spy(source: str, **options: Any) -> Any:
        calls.append((source, options))
        return real(source, **options)

    monkeypatch.setattr(inputs, "open_input", spy)
    _feed_source(str(FIXTURE), 10, 3, dt.date(2026, 1, 1))
    _feed_source("simulator", 10, 3, dt.date(2026, 1, 1))
    assert [source for source, _ in calls] == [str(FIXTURE), "simulator"]
    assert calls[1][1]["customers"] == 10 and calls[1][1]["seed"] == 3


def test_feed_frames_are_the_inputs_frames() -> None:
    served = next(_feed_source(str(FIXTURE), 10, 3, dt.date(2026, 1, 1)))
    assert served.equals(next(read_transactions(FIXTURE)))
    simulated = next(_feed_source("simulator", 10, 3, dt.date(2026, 1, 1)))
    replay = open_input("simulator", rate=None, seed=3, start=dt.date(2026, 1, 1), customers=10)
    assert isinstance(replay, SimulatorInput)
    assert simulated.equals(next(replay.frames()))
    assert isinstance(open_input(str(FIXTURE), rate=None, seed=3), CsvReplay)


def test_run_opens_the_configured_store_through_the_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without --database-url, `run` uses Store.from_settings (FRAUDWATCH_DIRECT_DATABASE_URL)."""
    from fraudwatch.config import get_settings
    from fraudwatch.pipeline.service import ScoringService
    from fraudwatch.sinks.store import Store

    class Service:
        model_version = "stub"

    def from_settings(cls: type[Store], settings: Any = None) -> Store:
        raise ReachedError(settings.direct_database_url)

    monkeypatch.setattr(ScoringService, "from_model_dir", classmethod(lambda *_, **__: Service()))
    monkeypatch.setattr(Store, "from_settings", classmethod(from_settings))
    monkeypatch.setenv("FRAUDWATCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRAUDWATCH_DATABASE_URL", "postgresql+psycopg://pooled.example/db")
    monkeypatch.setenv("FRAUDWATCH_DIRECT_DATABASE_URL", "postgresql+psycopg://direct.example/db")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["run", "--source", str(FIXTURE), "--model-dir", str(tmp_path)]
        )
    finally:
        get_settings.cache_clear()
    assert isinstance(result.exception, ReachedError), result.output
    assert "direct.example" in str(result.exception)
