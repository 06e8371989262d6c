"""The status banner, the clock's speed, and live figures beside validation's, in the app."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from fraudwatch.dashboard import formats
from fraudwatch.dashboard.export import csv_chunks
from fraudwatch.dashboard.filters import Filters
from fraudwatch.dashboard.source import reader_for
from fraudwatch.dashboard.views.shell import component_statuses
from fraudwatch.sinks import Store
from fraudwatch.sinks.status import ComponentStatus, write_status
from tests.dashboard.conftest import SeededStore, app_test, metrics
from tests.dashboard.seed import MODEL_VERSION, live_metadata, seed_live_store
from tests.dashboard.test_app import shown_text
from tests.dashboard.test_export_and_labels import parse

PAN = "4111111111111111"


def status(component: str, state: str, *, ago: timedelta, **values: object) -> ComponentStatus:
    """A status row whose heartbeat is ``ago`` old."""
    now = datetime.now(UTC)
    fields: dict[str, object] = {
        "kind": component.split()[0], "detail": None, "stream_time": None,
        "clock_speed": None, "processed": 10, "started_at": now - timedelta(hours=1),
    } | values  # fmt: skip
    return ComponentStatus(component=component, state=state, heartbeat_at=now - ago, **fields)  # type: ignore[arg-type]


def test_clock_speed_in_words() -> None:
    assert formats.clock_speed(600) == "simulated, 600× real time (a day every 2.4 min)"
    assert formats.clock_speed(60).endswith("(a day every 24 min)")
    assert formats.clock_speed(3600).endswith("(a day every 24 s)")
    assert formats.clock_speed(2).endswith("(a day every 12 h)")


def test_banner_names_failed_and_silent_components_and_caption_tells_the_speed(
    seeded: SeededStore,
) -> None:
    newest = seeded.seeded.decisions["event_time"].max().to_pydatetime()
    with Store(seeded.url) as store:
        write_status(store, status("pipeline seed", "running", ago=timedelta(seconds=2)))
    app = app_test("Overview")
    assert not app.exception, app.exception
    assert not app.error  # all is well: no banner
    clock = next(str(c.value) for c in app.caption if "Stream clock" in str(c.value))
    assert "real time" not in clock  # a plain replay says nothing about speed

    broken = status(
        "pipeline feed:http://127.0.0.1:8100", "failed", ago=timedelta(minutes=3),
        detail=f"feed answered 500 for card {PAN}", clock_speed=600.0, stream_time=newest,
    )  # fmt: skip
    quiet = status("api 127.0.0.1:8000", "running", ago=timedelta(minutes=2))
    with Store(seeded.url) as store:
        write_status(store, broken)
        write_status(store, quiet)
    component_statuses.clear()
    for page in ("Overview", "Alerts"):
        app = app_test(page)
        assert not app.exception, app.exception
        banners = [str(error.value) for error in app.error]
        assert len(banners) == 2, banners
        failed = next(text for text in banners if "pipeline feed" in text)
        assert "**failed**" in failed and "feed answered 500 for card" in failed
        assert PAN not in failed and "411111******1111" in failed  # stored masked
        assert f"at {broken.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC (3 min ago)" in failed
        silent = next(text for text in banners if "api 127.0.0.1:8000" in text)
        assert "**silent**" in silent
        assert f"since {quiet.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC (2 min ago)" in silent
    clock = next(str(c.value) for c in app.caption if "Stream clock" in str(c.value))
    assert f"{newest:%Y-%m-%d %H:%M:%S} UTC" in clock
    assert "simulated, 600× real time (a day every 2.4 min)" in clock


@pytest.fixture
def live_store(database_url: str, point_settings_at: Callable[[str], None]) -> str:
    """The hand-computable store of :func:`seed_live_store`; the settings point at it."""
    seed_live_store(database_url)
    point_settings_at(database_url)
    return database_url


#: Charged back as fraud, then an analyst said legitimate: the chargeback counts.
DISPUTED = "t090000000"


def deltas(app: AppTest) -> dict[str, str]:
    """The metric cards' second lines, label → delta."""
    return {metric.label: str(metric.delta) for metric in app.metric}


def test_live_figures_beside_validation_and_the_flag_rate_warning(live_store: str) -> None:
    app = app_test("Overview")
    assert not app.exception, app.exception
    shown, beside = metrics(app), deltas(app)
    assert shown["Live flag rate"] == f"{10 / 600 * 100:.2f} %"
    assert beside["Live flag rate"] == f"validation {100 / 6000 * 100:.2f} %"
    assert shown["Live precision"] == "60.0 %"  # 6 charged back of 10 flagged
    assert beside["Live precision"] == "validation 77.4 %"
    assert shown["Live recall"] == "75.0 %"  # 6 of 8 charged back were flagged
    assert beside["Live recall"] == "validation 80.0 %"
    assert shown["Labelled transactions"] == "590"  # 10 are younger than the 1 h delay
    assert beside["Labelled transactions"] == "of 600"
    assert "the last 7 days of stream time" in shown_text(app)
    assert not [w for w in app.warning if "flag rate" in str(w.value)]
    # validation flagged 20 of 6,000: the live rate is 5× it, outside 0.5×–2×
    with Store(live_store) as store:
        store.record_model_version(MODEL_VERSION, live_metadata(20), champion=True)
    app = app_test("Overview")
    warning = next(str(w.value) for w in app.warning if "live flag rate" in str(w.value))
    assert "5.00× validation's (0.33 %)" in warning and "too high" in warning
    assert metrics(app)["Live precision"] == "60.0 %"


def test_a_time_range_too_recent_for_labels_says_so(live_store: str) -> None:
    app = app_test("Overview", f_time="Last hour")
    assert not app.exception, app.exception
    shown = metrics(app)
    assert shown["Live flag rate"] == "0.00 %" and shown["Labelled transactions"] == "0"
    assert shown["Live precision"] == "—" and shown["Live recall"] == "—"
    text = shown_text(app)
    assert "not enough labels yet" in text and "the selected time range" in text
    assert "10 transactions in the window, it needs 500" in text


def test_the_effective_label_is_shown_everywhere(live_store: str) -> None:
    """An analyst's later "legitimate" does not beat a chargeback's "fraud"."""
    app = app_test("Transactions", f_decision="flagged", tx_lookup=DISPUTED)
    assert not app.exception, app.exception
    table = app.dataframe[0].value.set_index("trans_num")
    assert table.loc[DISPUTED, "label"] == "fraud · chargeback"
    assert table.loc["t090000006", "label"] == "legit · analyst"  # the analyst's only
    assert metrics(app)["Label"] == "confirmed fraud" and deltas(app)["Label"] == "by chargeback"
    reports = [
        str(c.value)
        for c in app.caption
        if "by issuer" in str(c.value) or "by analyst" in str(c.value)
    ]
    assert reports[0].endswith("confirmed fraud, chargeback by issuer (counts)"), reports
    assert "false positive, analyst by analyst" in reports[1]
    # the label filter and the counts follow the effective label
    alerts = app_test("Alerts", al_open=False, f_label="fraud")
    assert sorted(alerts.dataframe[0].value["trans_num"]) == [f"t09{i:07d}" for i in range(6)]
    assert metrics(app_test("Overview"))["Confirmed fraud"] == "8"
    exported = {
        row["trans_num"]: row
        for row in parse(b"".join(csv_chunks(reader_for(live_store), Filters(decision="flagged"))))
    }
    assert (exported[DISPUTED]["label"], exported[DISPUTED]["label_source"]) == (
        "confirmed fraud",
        "chargeback",
    )
    assert exported[DISPUTED]["labelled_by"] == "issuer"
