"""End to end in a real browser: ``fraudwatch dashboard`` (``streamlit run``) in Debian's chromium.

The set-up installs Debian's ``chromium`` package with apt when ``/usr/bin/chromium`` is
missing (never a Playwright browser download). The test starts the dashboard headless on a
free port against a seeded SQLite file, waits for the KPIs, applies a filter, checks the
numbers, the live refresh (rows written meanwhile appear) and the streamed export, and
saves full-page screenshots under ``test-artifacts/``.
``docs/dashboard.png`` (shown by the README) is written when it is missing, or refreshed
with ``FRAUDWATCH_UPDATE_SCREENSHOT=1``.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from fraudwatch.sinks import Store
from fraudwatch.sinks.status import ComponentStatus, write_status
from fraudwatch.sources.labels import LabelReport
from tests.dashboard.seed import Seeded, make_seed_decisions, seed_store
from tests.dashboard.test_queries import expected_rows
from tests.services import services_required

pytestmark = [pytest.mark.slow, pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
README_SCREENSHOT = ROOT / "docs" / "dashboard.png"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def _apt_install_chromium() -> str:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    log = []
    for command in (install, ["apt-get", "update"], install):
        done = subprocess.run(
            command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900
        )
        log.append(f"$ {' '.join(command)} -> {done.returncode}\n{done.stderr[-2000:]}")
        if command is install and done.returncode == 0 and CHROMIUM.exists():
            break
    return "\n".join(log)


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium, installed with apt when missing (skip, or fail in CI, if impossible)."""
    log = ""
    if not CHROMIUM.exists():
        log = _apt_install_chromium() if shutil.which("apt-get") else "apt-get is not available"
    if not CHROMIUM.exists():
        reason = f"service unavailable: Debian's chromium could not be installed\n{log}"
        if services_required():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Seeded, str]]:
    """``fraudwatch dashboard`` on a free port over a seeded SQLite file (one per module:
    starting Streamlit costs seconds).

    Yields the dashboard's base URL, what was seeded, and the database URL.
    """
    tmp_path = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{tmp_path / 'dashboard.db'}"
    seeded = seed_store(url)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUDWATCH_")}
    env["FRAUDWATCH_DATA_DIR"] = str(tmp_path / "data")
    log = (tmp_path / "dashboard.log").open("w")
    command = [sys.executable, "-m", "fraudwatch", "dashboard", "--database-url", url,
               "--port", str(port)]  # fmt: skip
    process = subprocess.Popen(
        command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "dashboard.log").read_text()
            try:
                if httpx.get(f"{base}/_stcore/health", timeout=1).text == "ok":
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail("the dashboard did not start:\n" + (tmp_path / "dashboard.log").read_text())
        yield base, seeded, url
    finally:
        process.terminate()  # the CLI passes SIGTERM on to streamlit
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _write_more_decisions(url: str) -> pd.DataFrame:
    """Decisions that arrive while the page is open (as the pipeline would write them)."""
    frame, _pans = make_seed_decisions(400, seed=8)
    with Store(url) as store:
        store.write_batch(frame)
    return frame


def _metric(page: object, label: str) -> str:
    card = page.locator('[data-testid="stMetric"]', has_text=label).first  # type: ignore[attr-defined]
    return str(card.locator('[data-testid="stMetricValue"]').inner_text()).strip()


def test_dashboard_in_chromium(chromium: Path, dashboard: tuple[str, Seeded, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    from fraudwatch.dashboard.filters import Filters

    base, seeded, database = dashboard
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1500})
            page.goto(base, wait_until="domcontentloaded")
            scored = page.locator('[data-testid="stMetric"]', has_text="Transactions scored")
            expect(scored).to_be_visible(timeout=60_000)
            expect(scored.locator('[data-testid="stMetricValue"]')).to_have_text("3,000")
            expect(page.locator(".js-plotly-plot")).to_have_count(4, timeout=30_000)
            # apply a filter: merchant search in the sidebar
            merchant = page.get_by_label("Merchant contains")
            merchant.fill("kirlin")
            merchant.press("Enter")
            rows = expected_rows(seeded, Filters(merchant="kirlin"))
            expect(scored.locator('[data-testid="stMetricValue"]')).to_have_text(
                f"{len(rows):,}", timeout=30_000
            )
            assert _metric(page, "Flagged") == f"{int(rows['decision'].sum()):,}"
            expect(page.locator(".js-plotly-plot")).to_have_count(4, timeout=30_000)
            page.wait_for_timeout(1500)  # let the charts finish drawing
            shot = ARTIFACTS / "dashboard-overview.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 20_000
            if not README_SCREENSHOT.exists() or os.environ.get("FRAUDWATCH_UPDATE_SCREENSHOT"):
                README_SCREENSHOT.parent.mkdir(exist_ok=True)
                shutil.copyfile(shot, README_SCREENSHOT)
            # live refresh: at 5 s, rows written meanwhile appear with no click, filter kept
            refresh = page.get_by_role("radiogroup", name="Live refresh")
            expect(refresh.get_by_role("radio", name="15 s", exact=True)).to_be_checked()
            refresh.get_by_role("radio", name="5 s", exact=True).click()
            expect(refresh.get_by_role("radio", name="5 s", exact=True)).to_be_checked()
            page.wait_for_timeout(2500)  # the click's own rerun is over before rows arrive
            expect(scored.locator('[data-testid="stMetricValue"]')).to_have_text(f"{len(rows):,}")
            arrived = _write_more_decisions(database)
            more = int(arrived["merchant"].str.lower().str.contains("kirlin").sum())
            assert more > 0
            expect(scored.locator('[data-testid="stMetricValue"]')).to_have_text(
                f"{len(rows) + more:,}", timeout=30_000
            )
            expect(merchant).to_have_value("kirlin")
            # the alert queue, with the filter kept
            page.get_by_text("Alerts", exact=True).click()
            expect(page.get_by_role("button", name="Confirmed fraud")).to_be_visible(timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "dashboard-alerts.png"), full_page=True)
            link = page.get_by_role("link", name="Export CSV")
            href = link.get_attribute("href")
            assert href is not None and "merchant=kirlin" in href
        finally:
            browser.close()
    exported = httpx.get(f"{base}{href}", timeout=30)
    assert exported.status_code == 200
    exported_rows = list(csv.DictReader(io.StringIO(exported.text)))
    everything = Seeded(pd.concat([seeded.decisions, arrived]), seeded.pans, seeded.labels)
    flagged_open = expected_rows(
        everything, Filters(merchant="kirlin", decision="flagged", label="unlabelled")
    )
    assert len(flagged_open) > len(
        expected_rows(seeded, Filters(merchant="kirlin", decision="flagged", label="unlabelled"))
    )
    assert sorted(r["trans_num"] for r in exported_rows) == sorted(flagged_open["trans_num"])


#: The metric cards each page must show whole (label → page); a check that finds none fails.
EXPECTED_METRICS: dict[str, tuple[str, ...]] = {
    "Overview": (
        "Transactions scored", "Flagged", "Flag rate", "Amount at risk",
        "Decision latency, median", "Decision latency, p99", "Alert precision",
        "Labelled alerts", "Confirmed fraud", "Confirmed amount", "False positives",
        "Unlabelled alerts", "Last transaction", "Model version", "Live flag rate",
        "Live precision", "Live recall", "Labelled transactions",
    ),
    "Transactions": ("Card", "Amount", "Probability", "Label", "Decision", "Risk level"),
    "Alerts": ("Card", "Amount", "Probability", "Label", "Decision", "Risk level"),
    "Model": (
        "Model version", "Registered (UTC)", "Threshold", "Threshold policy",
        "Labelled alerts", "Confirmed fraud", "Precision since labels arrived",
    ),
}  # fmt: skip
SIZES = ((1280, 800), (1440, 900))
#: Width of the grid's row-selection (checkbox) column, on the selectable alert table.
ROW_MARKER_WIDTH = 40

_CUT_METRICS = """(labels) => {
  const found = {}, cut = [];
  for (const card of document.querySelectorAll('[data-testid="stMetric"]')) {
    const label = card.querySelector('[data-testid="stMetricLabel"]');
    const value = card.querySelector('[data-testid="stMetricValue"]');
    if (!label || !value) continue;
    const name = label.innerText.trim();
    if (!labels.includes(name)) continue;
    found[name] = value.innerText.trim();
    for (const node of [label, value, ...label.querySelectorAll('*'),
                        ...value.querySelectorAll('*')]) {
      if (node.scrollWidth > node.clientWidth + 1) {
        cut.push(`${name}: "${node.innerText.trim()}" needs ${node.scrollWidth} px, ` +
                 `has ${node.clientWidth}`);
        break;
      }
    }
  }
  return {found, cut};
}"""
_TABLE = """(d) => ({
  width: d.getBoundingClientRect().width,
  headers: [...d.querySelectorAll('[role=columnheader]')]
    .sort((a, b) => a.getAttribute('aria-colindex') - b.getAttribute('aria-colindex'))
    .map(h => h.innerText.trim()),
})"""


def test_every_value_reads_whole_at_1280_and_1440(
    chromium: Path, dashboard: tuple[str, Seeded, str], tmp_path: Path
) -> None:
    """No metric value or label is cut (scrollWidth > clientWidth) and each table shows
    time, merchant, amount, probability, decision, risk and label within its visible width,
    at 1280×800 and 1440×900; screenshots of every page at both sizes are kept."""
    from playwright.sync_api import expect, sync_playwright

    base, seeded, database = dashboard
    ARTIFACTS.mkdir(exist_ok=True)
    _pipeline_failed_after_a_chargeback(database, seeded)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(base, wait_until="domcontentloaded")
            # the banner and the clock's speed (status rows are cached for a few seconds)
            expect(page.get_by_text("has failed")).to_be_visible(timeout=30_000)
            expect(page.get_by_text("600× real time")).to_be_visible()
            for name, labels in EXPECTED_METRICS.items():
                page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
                page.get_by_text(name, exact=True).first.click()
                for label in labels:
                    card = page.locator('[data-testid="stMetric"]', has_text=label).first
                    expect(card).to_be_attached(timeout=30_000)
                if name == "Overview":
                    expect(page.locator(".js-plotly-plot")).to_have_count(4, timeout=30_000)
                for width, height in SIZES:  # a resize lays out again; no rerun needed
                    page.set_viewport_size({"width": width, "height": height})
                    page.wait_for_timeout(500)  # fonts, columns and the grid settle
                    problems += _unreadable(page, name, labels, width, height)
                    shot = tmp_path / f"{name.lower()}-{width}x{height}.png"
                    page.get_by_role("heading", name=name).first.scroll_into_view_if_needed()
                    page.screenshot(path=str(shot))
                    shutil.copyfile(shot, ARTIFACTS / shot.name)
        finally:
            browser.close()
    assert not problems, "\n".join(problems)


def _pipeline_failed_after_a_chargeback(url: str, seeded: Seeded) -> None:
    """A chargeback on the newest alert, and a failed pipeline that ran a 600× clock: the
    pages then carry a banner, a speed in the clock line and a label source to lay out."""
    newest = seeded.decisions["event_time"].max().to_pydatetime()
    flagged = seeded.decisions.query("decision == 1").sort_values("event_time")
    now = datetime.now(UTC)
    failed = ComponentStatus(
        component="pipeline feed:http://127.0.0.1:8100", kind="pipeline", state="failed",
        detail="ConnectError: the feed at http://127.0.0.1:8100/stream does not answer",
        stream_time=newest, clock_speed=600.0, processed=3000,
        started_at=now - timedelta(hours=1), heartbeat_at=now - timedelta(minutes=4),
    )  # fmt: skip
    report = LabelReport(
        trans_num=str(flagged["trans_num"].iloc[-1]), label=1, source="chargeback",
        reported_at=now,
    )  # fmt: skip
    with Store(url) as store:
        write_status(store, failed)
        store.add_labels([report])


def _unreadable(
    page: Any, name: str, labels: tuple[str, ...], width: int, height: int
) -> list[str]:
    """What reads badly on the page now: cut metric cards, tables too narrow for their
    decisive columns. Fails at once when an expected card or a table header is missing."""
    from playwright.sync_api import expect

    from fraudwatch.dashboard.views.tables import _COLUMNS, DECISIVE_COLUMNS

    result = page.evaluate(_CUT_METRICS, list(labels))
    missing = sorted(set(labels) - set(result["found"]))
    assert not missing, f"{name} at {width} px: no metric {missing}"
    problems = [f"{name} at {width}×{height}: {cut}" for cut in result["cut"]]
    decisive_headers = [_COLUMNS[column]["label"] for column in DECISIVE_COLUMNS]
    decisive_width = sum(int(_COLUMNS[column]["width"] or 0) for column in DECISIVE_COLUMNS)
    grids = page.locator('[data-testid="stDataFrame"]')
    for index in range(grids.count() if name != "Model" else 0):
        grid = grids.nth(index)
        grid.scroll_into_view_if_needed()  # the grid draws its headers then
        expect(grid.locator("[role=columnheader]").first).to_be_attached()
        table = grid.evaluate(_TABLE)
        headers = table["headers"][: len(decisive_headers)]
        assert headers == decisive_headers, (name, width, table["headers"])
        needed = decisive_width + (ROW_MARKER_WIDTH if name == "Alerts" and index == 0 else 0)
        if table["width"] < needed:
            problems.append(
                f"{name} at {width}: a table is {table['width']:.0f} px wide, "
                f"its decisive columns need {needed}"
            )
    return problems
