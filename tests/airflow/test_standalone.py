"""``make airflow``: the standalone wrapper's parts, and a real ``airflow standalone`` start.

The real start runs ``airflow/standalone.py`` in ``.venv-airflow`` on a free port with a
temporary AIRFLOW_HOME, reads the address and login it prints, logs in with them, finds
``fraud_ingest`` (paused) and no import error, then stops it with SIGINT as Ctrl-C would.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from fraudwatch.orchestration.standalone import (
    PASSWORDS_FILE,
    banner,
    read_login,
    standalone_env,
    ui_address,
    ui_is_up,
)
from tests.airflow.conftest import DAGS, ROOT, airflow_env

BANNER = re.compile(
    r"Airflow UI: (?P<address>http://\S+)\s+login: (?P<user>\S+) / (?P<password>\S+)"
)


def test_environment_puts_the_ui_on_localhost_with_our_dags(tmp_path: Path) -> None:
    env = standalone_env(
        {"PATH": "/usr/bin", "FRAUDWATCH_FEED_URL": "http://feed:8100"},
        home=tmp_path / "home", dags_folder=DAGS, host="127.0.0.1", port=18123,
        bin_dir=Path("/venv/bin"),
    )  # fmt: skip
    assert env["AIRFLOW_HOME"] == str(tmp_path / "home")
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(DAGS)
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert (env["AIRFLOW__API__HOST"], env["AIRFLOW__API__PORT"]) == ("127.0.0.1", "18123")
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18123/execution/"
    assert env["PATH"] == os.pathsep.join(["/venv/bin", "/usr/bin"])
    assert env["FRAUDWATCH_FEED_URL"] == "http://feed:8100"  # the tasks' settings pass through


def test_login_comes_from_the_generated_passwords_file(tmp_path: Path) -> None:
    assert read_login(tmp_path) is None
    (tmp_path / PASSWORDS_FILE).write_text("not json", encoding="utf-8")
    assert read_login(tmp_path) is None
    (tmp_path / PASSWORDS_FILE).write_text(json.dumps({"admin": "s3cret"}), encoding="utf-8")
    assert read_login(tmp_path) == ("admin", "s3cret")
    text = banner(ui_address("0.0.0.0", 8080), read_login(tmp_path), tmp_path)
    match = BANNER.search(text)
    assert match is not None
    assert match.group("address", "user", "password") == (
        "http://127.0.0.1:8080",
        "admin",
        "s3cret",
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.integration
@pytest.mark.slow
def test_make_airflow_starts_standalone_and_prints_a_working_login(
    airflow_python: Path, tmp_path: Path
) -> None:
    port = _free_port()
    home = tmp_path / "airflow-home"
    env = {k: v for k, v in airflow_env(home).items() if k != "AIRFLOW__CORE__DAGS_FOLDER"}
    process = subprocess.Popen(
        [str(airflow_python), "airflow/standalone.py", "--home", str(home), "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 240
        match = None
        while match is None and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.5)
            match = next(filter(None, map(BANNER.search, list(lines))), None)
        assert match is not None, "no UI address/login printed:\n" + "".join(lines[-60:])
        address = match.group("address")
        assert address == f"http://127.0.0.1:{port}"
        assert ui_is_up(address)
        with httpx.Client(base_url=address, timeout=10) as http:
            login = {"username": match.group("user"), "password": match.group("password")}
            token = http.post("/auth/token", json=login)
            assert token.status_code == 201, token.text
            bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
            assert http.get("/api/v2/dags").status_code == 401  # the login is needed
            dags: dict[str, bool] = {}
            while "fraud_ingest" not in dags and time.monotonic() < deadline:
                found = http.get("/api/v2/dags", headers=bearer).json()["dags"]
                dags = {dag["dag_id"]: dag["is_paused"] for dag in found}
                time.sleep(1)
            assert dags == {"fraud_ingest": True}  # ours only, paused until unpaused
            errors = http.get("/api/v2/importErrors", headers=bearer).json()
            assert errors["total_entries"] == 0
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # what Ctrl-C in `make airflow` does
        try:
            code = process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
        reader.join(5)
    assert code == 0, "".join(lines[-40:])
    assert "Shutting down components" in "".join(lines)
    assert not ui_is_up(address)  # every component stopped
