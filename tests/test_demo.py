"""The live demo: its clock tells the truth (the model's own targets against the simulator's
labels), `fraudwatch demo` runs feed → pipeline → store, the scoring API answers with the
printed key, and a restart continues the stream with the same key.

The demo model is trained once for the module (about a minute) and copied into each
test's data folder.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from fraudwatch.demo import DemoState, ensure_model, live_system
from fraudwatch.demo_targets import demo_targets
from fraudwatch.privacy import load_or_create_key
from fraudwatch.sinks.store import Store

pytestmark = pytest.mark.slow
PAN_RUN = re.compile(r"(?<!\d)\d{12,19}(?!\d)")
SEED = 42


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder holding the demo's model, PAN key and state (trained once)."""
    data_dir = tmp_path_factory.mktemp("demo-template")
    key = load_or_create_key(None, data_dir / "pan.key")
    state = DemoState.load_or_create(data_dir, SEED, dt.date.today())
    ensure_model(data_dir, key, state, progress=lambda _: None)
    return data_dir


def _data_dir(trained: Path, tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    shutil.copytree(trained, data_dir)
    return data_dir


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_live_demo_meets_the_models_own_targets(trained: Path, tmp_path: Path) -> None:
    """At least 3 simulated days and 30 frauds, scored with the model's stored threshold."""
    data_dir = _data_dir(trained, tmp_path)
    url = f"sqlite:///{data_dir / 'fraudwatch.db'}"
    key = load_or_create_key(None, data_dir / "pan.key")
    state = DemoState.load_or_create(data_dir, SEED, dt.date.today())
    wanted = dt.datetime.combine(state.epoch, dt.time()) + dt.timedelta(days=6)
    with live_system(
        data_dir, key, seed=SEED, feed_port=0, api_host="127.0.0.1", api_port=0,
        speed=43_200.0, database_url=url, api_keys=["k"], progress=lambda _: None,
    ) as system:  # fmt: skip
        deadline = time.monotonic() + 180
        while not system.stop.wait(0.5):
            status = system.runner.heartbeat
            assert time.monotonic() < deadline and system.failure is None, system.failure
            newest = system.runner.stream_time
            if newest is not None and newest >= wanted:
                break
        metadata = system.runner.service.bundle.metadata
    assert status.clock_speed == 43_200.0
    store = Store(url)
    targets = demo_targets(store, state, metadata)
    with store.engine.connect() as connection:
        chargebacks = connection.execute(
            sa.text("SELECT trans_num, is_fraud FROM labels WHERE source = 'chargeback'")
        ).all()
    store.close()
    # frauds of the first ~3 of 6 days came back as chargebacks (delay 3 days), frauds only
    first_block = next(state.live_stream())
    frauds = set(first_block.loc[first_block["is_fraud"] == 1, "trans_num"])
    assert 0 < len(chargebacks) < targets.frauds
    assert {trans_num for trans_num, _ in chargebacks} <= frauds
    figures = targets.as_dict()
    assert targets.simulated_days >= 3 and targets.frauds >= 30, figures
    assert 0.5 <= targets.live.flag_rate_ratio <= 2.0, figures
    assert targets.precision_ratio >= 0.8, figures
    assert 0.5 <= targets.gap_ratio <= 2.0, figures
    assert targets.met


def _start_demo(data_dir: Path, cwd: Path, duration: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUDWATCH_")}
    env.update(FRAUDWATCH_DATA_DIR=str(data_dir), COLUMNS="200")
    args = ["demo", "--duration", str(duration),
            "--feed-port", str(_free_port()), "--api-port", str(_free_port()),
            "--dashboard-port", "0"]  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "fraudwatch", *args], env=env, cwd=cwd, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_demo_runs_the_live_system(trained: Path, tmp_path: Path) -> None:
    data_dir = _data_dir(trained, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUDWATCH_")}
    env.update(FRAUDWATCH_DATA_DIR=str(data_dir), COLUMNS="200")
    args = ["demo", "--duration", "25",
            "--feed-port", str(_free_port()), "--api-port", str(_free_port()),
            "--dashboard-port", str(_free_port())]  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "fraudwatch", *args], env=env, cwd=tmp_path, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    lines = []
    api, key, dashboard = None, None, None
    deadline = time.monotonic() + 240
    while (key is None or dashboard is None) and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        found = re.search(r"Scoring API (\S+)/docs\s+X-API-Key: (\S+)", line)
        if found:
            api, key = found.group(1), found.group(2)
        shown = re.search(r"Dashboard\s+(http://\S+)", line)
        if shown:
            dashboard = shown.group(1)
    assert api and key and dashboard, "".join(lines) + (
        process.stderr.read() if process.stderr else ""
    )
    transaction = {
        "trans_date_trans_time": f"{dt.date.today()} 00:30:00", "cc_num": "4111111111111111",
        "merchant": "fraud_Kirlin and Sons", "category": "shopping_net", "amt": 950.0,
        "gender": "F", "lat": 40.7, "long": -74.0, "city_pop": 8_000_000, "dob": "1980-01-01",
        "trans_num": "demo-test-0001", "merch_lat": 40.9, "merch_long": -73.8,
    }  # fmt: skip
    assert httpx.post(f"{api}/v1/score", json=transaction).status_code == 401
    answer = httpx.post(f"{api}/v1/score", json=transaction, headers={"X-API-Key": key})
    assert answer.status_code == 200, answer.text
    assert 0 <= answer.json()["fraud_probability"] <= 1
    # the dashboard serves the demo's database: its health check, then its streamed export
    health_deadline = time.monotonic() + 30
    healthy = False
    while not healthy and time.monotonic() < health_deadline:
        try:
            healthy = httpx.get(f"{dashboard}/_stcore/health", timeout=2).text == "ok"
        except httpx.HTTPError:
            time.sleep(0.5)
    assert healthy, (data_dir / "dashboard.log").read_text()
    export = httpx.get(f"{dashboard}/export.csv", timeout=30)
    assert export.status_code == 200, export.text
    exported = list(csv.DictReader(io.StringIO(export.text)))
    assert exported and all("****" in row["masked_pan"] for row in exported)
    assert "4111111111111111" not in export.text  # the card scored above, only masked
    # read on from the same buffered pipe: communicate() would skip what readline() buffered
    out = process.stdout.read()
    err = process.stderr.read() if process.stderr else ""
    process.wait(timeout=120)
    output = "".join(lines) + out
    assert process.returncode == 0, err
    assert "/current-transactions" in output, output
    assert "Clock: simulated, 600x real time" in output, output
    scored = [int(n.replace(",", "")) for n in re.findall(r"scored ([\d,]+)", output)]
    assert scored and max(scored) > 50
    # stdout is a pipe, not a terminal: a progress line every 10 s, not every 2 s (25 s run)
    assert 1 <= len(re.findall(r"^  scored ", output, re.M)) <= 3, output
    database = data_dir / "fraudwatch.db"
    engine = sa.create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT count(*) FROM decisions")).scalar_one()
    engine.dispose()
    assert stored >= max(scored)
    assert "4111111111111111" not in output + err
    assert (data_dir / "models" / "CHAMPION").is_file()
    _restart_continues_the_stream(data_dir, tmp_path, key, stored)


def _restart_continues_the_stream(data_dir: Path, cwd: Path, key: str, stored: int) -> None:
    """A second start after a clean stop: same API key, the stream goes on, rows grow."""
    process = _start_demo(data_dir, cwd, duration=15)
    out, err = process.communicate(timeout=240)
    assert process.returncode == 0, err
    assert f"X-API-Key: {key}" in out
    assert re.search(r"continuing the live stream after transaction [\d,]+", out), out
    engine = sa.create_engine(f"sqlite:///{data_dir / 'fraudwatch.db'}")
    with engine.connect() as connection:
        after = connection.execute(sa.text("SELECT count(*) FROM decisions")).scalar_one()
        distinct = connection.execute(
            sa.text("SELECT count(DISTINCT trans_num) FROM decisions")
        ).scalar_one()
    engine.dispose()
    assert after > stored and distinct == after
