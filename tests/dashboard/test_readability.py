"""What the dashboard shows is made for people: the stream clock, partial buckets, sane chart
axes, metric names in words, tables whose decisive columns come first, and bulk labelling."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from fraudwatch.dashboard import charts, queries
from fraudwatch.dashboard.model_info import ModelInfo
from fraudwatch.dashboard.source import reader_for
from fraudwatch.dashboard.views.tables import _COLUMNS, DECISIVE_COLUMNS
from fraudwatch.sinks import Store
from tests.dashboard.conftest import SeededStore, app_test, metrics
from tests.dashboard.seed import make_seed_decisions
from tests.dashboard.test_app import shown_text


@pytest.mark.parametrize("newest", ["2020-06-21 12:14:37", "2031-01-05 08:00:12"])
def test_relative_ranges_count_back_from_the_stream_clock(
    newest: str, tmp_path: Path, point_settings_at: Callable[[str], None]
) -> None:
    """A 2020 replay and a simulated clock years ahead both show their own last 15 minutes."""
    url = f"sqlite:///{tmp_path / 'clock.db'}"
    frame, _pans = make_seed_decisions(400, hours=2.0)
    frame["event_time"] = frame["event_time"] + (pd.Timestamp(newest) - frame["event_time"].max())
    with Store(url) as store:
        store.upgrade()
        store.write_batch(frame)
    point_settings_at(url)
    clock = queries.stream_clock(reader_for(url))
    assert clock.from_stream and clock.now == pd.Timestamp(newest).to_pydatetime()
    app = app_test("Overview", f_time="Last 15 minutes")
    assert not app.exception, app.exception
    recent = frame["event_time"] > pd.Timestamp(newest) - pd.Timedelta(minutes=15)
    assert 0 < recent.sum() < len(frame)
    assert metrics(app)["Transactions scored"] == f"{int(recent.sum()):,}"
    text = shown_text(app)
    assert f"Stream clock {newest} UTC" in text
    assert "newest minute is still filling" in text


def test_an_empty_store_falls_back_to_the_wall_clock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with Store(url) as store:
        store.upgrade()
    clock = queries.stream_clock(reader_for(url))
    assert not clock.from_stream
    wall = datetime.now(UTC).replace(tzinfo=None)  # naive UTC, like event times
    assert abs(clock.now - wall) < timedelta(seconds=5)
    assert "wall clock" in clock.describe()


def _trend(starts: list[str], bucket: str) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "bucket_start": pd.to_datetime(starts),
            "transactions": [40] * len(starts),
            "flagged": [2] * len(starts),
            "mean_probability": [0.1] * len(starts),
            "p95_probability": [0.6] * len(starts),
        }
    )
    frame.attrs["bucket"] = bucket
    return frame


def test_the_unfinished_bucket_is_drawn_apart() -> None:
    trend = _trend(["2026-03-01 10:00", "2026-03-01 10:01", "2026-03-01 10:02"], "minute")
    now = datetime(2026, 3, 1, 10, 2, 30)
    assert charts.partial_mask(trend, now).tolist() == [False, False, True]
    figure = charts.volume_chart(trend, now)
    bars = figure.data[0]
    opacity = list(bars.marker.opacity)
    assert opacity[-1] < opacity[0] == opacity[1]
    dashed = [t for t in figure.data if t.type == "scatter" and t.line.dash == "dash"]
    assert len(dashed) == 1 and list(dashed[0].x)[-1] == pd.Timestamp("2026-03-01 10:02")
    note = charts.partial_note(trend, now)
    assert note is not None and "10:02:30" in note
    finished = datetime(2026, 3, 1, 10, 3)
    assert not charts.partial_mask(trend, finished).any()
    assert charts.partial_note(trend, finished) is None


def test_one_bucket_has_readable_ticks_and_counts_are_whole_numbers() -> None:
    trend = _trend(["2026-03-01 08:48"], "minute")
    figure = charts.volume_chart(trend, datetime(2026, 3, 1, 9, 0))
    axis = figure.layout.xaxis
    assert axis.tickformat == "%H:%M"
    assert [pd.Timestamp(t) for t in axis.tickvals] == [pd.Timestamp("2026-03-01 08:48")]
    for y in (figure.layout.yaxis, figure.layout.yaxis2):
        assert y.tickformat == ",d" and y.dtick >= 1 and float(y.dtick).is_integer()
    daily = pd.DataFrame(
        {"day": pd.to_datetime(["2026-03-01"]), "labelled": [2], "confirmed": [1],
         "precision": [0.5], "running_precision": [0.5]}
    )  # fmt: skip
    labels = charts.precision_chart(daily)
    assert labels.layout.yaxis2.tickformat == ",d" and labels.layout.yaxis2.dtick == 1
    assert labels.layout.xaxis.tickformat == "%b %d"


def test_validation_metrics_read_in_words() -> None:
    info = ModelInfo(
        "v1",
        True,
        None,
        {"validation_metrics": {"model": {"average_precision": 0.94612, "flagged": 233.0,
                                          "best_iteration": 1812.0, "recall": float("nan")},
                                "baseline": {"recall": 0.5}}},
    )  # fmt: skip
    table = info.validation_text()
    assert table.loc["Average precision (AP)", "model"] == "0.9461"
    assert table.loc["Flagged validation transactions", "model"] == "233"
    assert table.loc["Boosting rounds", "model"] == "1,812"
    assert table.loc["Recall at the threshold", "model"] == "—"


def test_tables_put_the_decisive_columns_first(seeded: SeededStore) -> None:
    for page in ("Transactions", "Alerts"):
        app = app_test(page)
        assert not app.exception, app.exception
        assert len(app.dataframe) == 2  # the page and the drill-down's card history
        for table in app.dataframe:
            order = list(table.proto.column_order)
            assert order[: len(DECISIVE_COLUMNS)] == list(DECISIVE_COLUMNS), (page, order)
            config = json.loads(table.proto.columns)
            for name in DECISIVE_COLUMNS:
                assert config[name]["width"] == _COLUMNS[name]["width"]  # pixels, not auto
                assert isinstance(config[name]["width"], int)


def test_bulk_labelling_of_selected_alerts(seeded: SeededStore) -> None:
    app = app_test("Alerts", alert_table_0={"selection": {"rows": [0, 2, 3], "columns": []}})
    assert not app.exception, app.exception
    queue = app.dataframe[0].value["trans_num"].tolist()
    chosen = [queue[0], queue[2], queue[3]]
    assert "One verdict for the 3 selected alerts" in shown_text(app)
    assert app.text_input(key="analyst").value in ("", None)  # never pre-filled
    app.button(key="label_legit").click().run()
    assert "enter your name" in shown_text(app)  # refused: no name
    assert seeded.scalar("SELECT count(*) FROM labels WHERE analyst = 'dana'") == 0
    app.text_input(key="analyst").set_value("dana")
    app.text_input(key="label_note").set_value("same merchant test charges")
    app.button(key="label_legit").click().run()
    assert not app.exception, app.exception
    rows = seeded.rows(
        "SELECT trans_num, is_fraud, note FROM labels WHERE analyst = 'dana' ORDER BY id"
    )
    assert sorted(r[0] for r in rows) == sorted(chosen)
    assert {(r[1], r[2]) for r in rows} == {(0, "same merchant test charges")}
    assert "3 alerts are false positive" in shown_text(app)
    left = app.dataframe[0].value["trans_num"].tolist()
    assert not set(chosen) & set(left)  # gone from the queue at once
    assert "selected alerts" not in shown_text(app)  # the selection does not carry over


def test_the_model_pages_training_window_reads_to_the_second() -> None:
    from fraudwatch.dashboard.views.model import _when

    assert _when("2026-10-26 23:59:56.200000") == "2026-10-26 23:59:56"
    assert _when("2025-09-01") == "2025-09-01 00:00:00"
    assert _when(None) == "?" and _when("x") == "x"  # unreadable metadata stays as written
