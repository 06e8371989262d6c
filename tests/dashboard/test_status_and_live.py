"""The status banner, the clock's speed, and live figures beside validation's, in the app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fraudwatch.dashboard import formats
from fraudwatch.dashboard.views.shell import component_statuses
from fraudwatch.sinks import Store
from fraudwatch.sinks.status import ComponentStatus, write_status
from tests.dashboard.conftest import SeededStore, app_test

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
