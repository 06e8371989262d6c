"""Runs inside .venv-airflow (the tests call it with its Python): DAG imports and dag.test().

``run_dag_test.py import DAGS_FOLDER`` loads the folder into a DagBag and reports the
import errors and each DAG's shape; ``run_dag_test.py test DAGS_FOLDER DAG_ID`` runs one
DagRun of that DAG with ``dag.test()`` (AIRFLOW_HOME must hold a migrated metadata DB) and
reports its state, each task's state and the last task's XCom. The report is the last line
of stdout, prefixed with ``RESULT ``; everything above it is Airflow's and the tasks' log.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

MARKER = "RESULT "
HEAVY_MODULES = ("fraudwatch", "lightgbm", "pandas", "sklearn", "pyarrow")


def import_report(folder: str) -> dict[str, Any]:
    """Import errors and the shape of every DAG in ``folder``."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(folder)
    return {
        "import_errors": {str(path): str(error) for path, error in bag.import_errors.items()},
        "dags": {
            dag_id: {
                "tasks": sorted(task.task_id for task in dag.tasks),
                "timetable": type(dag.timetable).__name__,
                "schedule": str(getattr(dag.timetable, "delta", dag.timetable)),
                "task_groups": sorted(dag.task_group.children),
                "catchup": dag.catchup,
                "max_active_runs": dag.max_active_runs,
                "fileloc": dag.fileloc,
            }
            for dag_id, dag in bag.dags.items()
        },
        # parsing a DAG file must not pull in the library (or its model and data stack)
        "heavy_modules": sorted(m for m in HEAVY_MODULES if m in sys.modules),
    }


def run_report(
    folder: str, dag_id: str, logical_date: str | None, conf: dict[str, Any] | None
) -> dict[str, Any]:
    """One dag.test() run: the run's state, each task's state, and the XComs they returned.

    The same ``logical_date`` twice re-runs the same DagRun (its tasks are cleared first).
    """
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    bag = DagBag(folder)
    if bag.import_errors:
        errors = {str(path): str(error) for path, error in bag.import_errors.items()}
        return {"state": "import_error", "import_errors": errors}
    when = datetime.fromisoformat(logical_date) if logical_date else datetime.now(UTC)
    run = bag.dags[dag_id].test(run_after=when, logical_date=when, run_conf=conf)
    with create_session() as session:
        instances = run.get_task_instances(session=session)
        tasks = {ti.task_id: str(ti.state) for ti in instances}
        rows = session.query(XComModel).filter(
            XComModel.dag_id == dag_id, XComModel.run_id == run.run_id
        )
        xcoms = {row.task_id: row.value for row in rows}
    report = {"state": str(run.state), "run_id": run.run_id, "tasks": tasks, "xcom": xcoms}
    return report | {"logical_date": when.isoformat()}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["import", "test"])
    parser.add_argument("folder")
    parser.add_argument("dag_id", nargs="?")
    parser.add_argument("--logical-date", help="ISO date-time of the run (default: now)")
    parser.add_argument("--conf", help="the run's conf, as JSON (overrides params)")
    args = parser.parse_args(argv)
    if args.command == "import":
        report = import_report(args.folder)
    else:
        conf = json.loads(args.conf) if args.conf else None
        report = run_report(args.folder, args.dag_id, args.logical_date, conf)
    print(MARKER + json.dumps(report, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
