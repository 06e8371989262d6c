"""Every DAG file imports cleanly in Airflow (DagBag) and parsing it stays light.

The DagBag check runs in ``.venv-airflow``; the source checks run here, without Airflow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.airflow.conftest import DAGS, airflow_env, run_airflow

INGEST_TASKS = [
    "inference.score_transactions",
    "ingestion.fetch_transactions",
    "persistence.report_alerts",
    "persistence.store_decisions",
]
#: What a DAG file may import at its top level: Airflow's SDK and light standard modules.
ALLOWED_TOP_LEVEL = {"__future__", "airflow.sdk", "datetime", "typing"}


@pytest.mark.integration
def test_every_dag_file_imports_without_errors(
    airflow_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("airflow-import")
    result = run_airflow(airflow_python, airflow_env(home), "import", str(DAGS))
    assert result.report["import_errors"] == {}
    dags = result.report["dags"]
    assert set(dags) == {"fraud_ingest"}
    ingest = dags["fraud_ingest"]
    assert ingest["tasks"] == INGEST_TASKS
    assert ingest["task_groups"] == ["inference", "ingestion", "persistence"]
    assert ingest["schedule"] == "0:01:00"  # every minute
    assert ingest["catchup"] is False
    assert ingest["max_active_runs"] == 1
    # parsing did not pull in fraudwatch or its data stack
    assert result.report["heavy_modules"] == []


@pytest.mark.parametrize("path", sorted(DAGS.glob("*.py")), ids=lambda p: p.name)
def test_dag_files_import_only_the_sdk_at_top_level(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert imported <= ALLOWED_TOP_LEVEL, f"{path.name} imports {imported - ALLOWED_TOP_LEVEL}"
    source = path.read_text(encoding="utf-8")
    assert "schedule=" in source and "schedule_interval" not in source
    assert "from airflow.models" not in source and "from airflow.decorators" not in source
