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
from pathlib import Path

import httpx
import pandas as pd
import pytest

from fraudwatch.sinks import Store
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


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[tuple[str, Seeded, str]]:
    """``fraudwatch dashboard`` on a free port over a seeded SQLite file.

    Yields the dashboard's base URL, what was seeded, and the database URL.
    """
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
