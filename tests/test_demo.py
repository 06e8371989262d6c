"""`fraudwatch demo` on a fresh data folder: trains a model, then runs feed → pipeline → store
and the scoring API, which answers with the printed key, until the duration ends."""

from __future__ import annotations

import csv
import io
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.slow
PAN_RUN = re.compile(r"(?<!\d)\d{12,19}(?!\d)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_demo_runs_the_live_system(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUDWATCH_")}
    env.update(FRAUDWATCH_DATA_DIR=str(tmp_path / "data"), COLUMNS="200")
    args = ["demo", "--duration", "25", "--rate", "50",
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
        "trans_date_trans_time": "2026-11-26 12:00:00", "cc_num": "4111111111111111",
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
    assert healthy, (tmp_path / "data" / "dashboard.log").read_text()
    export = httpx.get(f"{dashboard}/export.csv", timeout=30)
    assert export.status_code == 200, export.text
    exported = list(csv.DictReader(io.StringIO(export.text)))
    assert exported and all("****" in row["masked_pan"] for row in exported)
    assert "4111111111111111" not in export.text  # the card scored above, only masked
    out, err = process.communicate(timeout=120)
    output = "".join(lines) + out
    assert process.returncode == 0, err
    assert "no model yet: simulating" in output and "/current-transactions" in output
    scored = [int(n.replace(",", "")) for n in re.findall(r"scored ([\d,]+)", output)]
    assert scored and max(scored) > 50
    database = tmp_path / "data" / "fraudwatch.db"
    engine = sa.create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT count(*) FROM decisions")).scalar_one()
    engine.dispose()
    assert stored >= max(scored)
    assert "4111111111111111" not in output + err
    assert (tmp_path / "data" / "models" / "CHAMPION").is_file()
