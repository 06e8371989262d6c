"""Fixtures of the Airflow tests: the Airflow venv, a migrated AIRFLOW_HOME, a small model.

Airflow lives in its own virtual environment (``.venv-airflow``, ``make airflow-venv``), so
these tests drive it through ``run_dag_test.py`` run by that venv's Python. Without the
venv they skip with the reason; under ``FRAUDWATCH_REQUIRE_SERVICES=1`` (CI) they fail.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from fraudwatch.model.registry import CHAMPION_FILE, save_bundle
from fraudwatch.model.train import TrainConfig, train_model
from fraudwatch.pipeline.prepare import read_prepared
from fraudwatch.sources.csv_file import read_transactions
from fraudwatch.sources.simulator import SimulatorConfig, simulate_to_csv
from tests.services import REQUIRE_SERVICES_ENV, services_required

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "airflow" / "dags"
RUNNER = Path(__file__).resolve().parent / "run_dag_test.py"
AIRFLOW_VENV = Path(os.environ.get("FRAUDWATCH_TEST_AIRFLOW_VENV", ROOT / ".venv-airflow"))
KEY = b"airflow-tests-key-0123456789abcdef"
#: Generous: one dag.test() takes 15-25 s on the shared 2-core machine.
RUN_TIMEOUT_S = 300


@dataclass
class DagRunResult:
    """What ``run_dag_test.py`` reported, with the full log of the run."""

    report: dict[str, Any]
    log: str

    @property
    def state(self) -> str:
        """The DagRun's final state (``success``, ``failed``)."""
        return str(self.report.get("state"))

    def task_state(self, task_id: str) -> str:
        """One task's final state."""
        return str(self.report["tasks"].get(task_id))

    def xcom(self, task_id: str) -> dict[str, Any]:
        """The value a task returned."""
        value: dict[str, Any] = self.report["xcom"][task_id]
        return value


@pytest.fixture(scope="session")
def airflow_python() -> Path:
    """The Airflow venv's Python (skips, or fails under REQUIRE_SERVICES, when it is missing)."""
    python = AIRFLOW_VENV / "bin" / "python"
    if python.is_file() and (AIRFLOW_VENV / "bin" / "airflow").is_file():
        return python
    reason = f"Airflow venv missing: {AIRFLOW_VENV} has no Airflow; `make airflow-venv` builds it"
    if services_required():
        pytest.fail(f"{reason} ({REQUIRE_SERVICES_ENV}=1 makes this a failure)", pytrace=False)
    pytest.skip(reason)


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment for an Airflow process: our AIRFLOW_HOME, no stray settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FRAUDWATCH_", "AIRFLOW_", "AIRFLOW__", "NEON_"))
    }
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def airflow_home(airflow_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An AIRFLOW_HOME whose SQLite metadata DB is migrated once for the session."""
    home = tmp_path_factory.mktemp("airflow-home")
    airflow = airflow_python.parent / "airflow"
    done = subprocess.run(
        [str(airflow), "db", "migrate"], env=airflow_env(home), capture_output=True,
        text=True, timeout=RUN_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"airflow db migrate failed:\n{done.stdout}\n{done.stderr}"
    return home


def run_airflow(python: Path, env: dict[str, str], *args: str) -> DagRunResult:
    """Run ``run_dag_test.py`` in the Airflow venv and parse its report."""
    done = subprocess.run(
        [str(python), str(RUNNER), *args], env=env, capture_output=True, text=True,
        timeout=RUN_TIMEOUT_S, check=False, cwd=str(ROOT),
    )  # fmt: skip
    log = done.stdout + "\n" + done.stderr
    reports = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not reports:
        tail = "\n".join(log.splitlines()[-60:])
        raise AssertionError(
            f"run_dag_test.py {' '.join(args)} failed ({done.returncode}):\n{tail}"
        )
    return DagRunResult(json.loads(reports[-1][len("RESULT ") :]), log)


@pytest.fixture(scope="session")
def sim_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small simulated history (Jan-May 2020) and the days after it (Kaggle layout)."""
    folder = tmp_path_factory.mktemp("airflow-sim")
    written = simulate_to_csv(
        SimulatorConfig(customers=150, seed=11), dt.date(2020, 1, 1), dt.date(2020, 6, 10),
        folder / "sim.csv", split_at=dt.date(2020, 6, 1),
    )  # fmt: skip
    test, train = sorted(written)
    return train, test


@pytest.fixture(scope="session")
def model_folder(sim_files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained once for the session on the small history."""
    train = pd.concat(
        [batch.transactions for batch in read_prepared(sim_files[0], KEY)], ignore_index=True
    )
    bundle = train_model(train, TrainConfig(max_rounds=300, threads=2))
    return save_bundle(bundle, tmp_path_factory.mktemp("airflow-model") / bundle.version)


@pytest.fixture
def data_dir(tmp_path: Path, model_folder: Path) -> Path:
    """This test's FRAUDWATCH_DATA_DIR, with the session's model as champion."""
    folder = tmp_path / "data"
    models = folder / "models"
    shutil.copytree(model_folder, models / model_folder.name)
    (models / CHAMPION_FILE).write_text(model_folder.name + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def feed_csv(sim_files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small Kaggle-layout file for the feed: 240 transactions, two of them invalid."""
    frame = next(read_transactions(sim_files[1], limit=240))
    frame.loc[frame.index[10], "category"] = "not_a_category"
    frame.loc[frame.index[150], "amt"] = -5.0
    path = tmp_path_factory.mktemp("airflow-feed") / "feed.csv"
    frame.to_csv(path, index=True)
    return path


@pytest.fixture
def feed_frames(feed_csv: Path) -> Iterator[list[pd.DataFrame]]:
    """The feed file's rows, as frames for ``running_feed_server``."""
    yield list(read_transactions(feed_csv))
