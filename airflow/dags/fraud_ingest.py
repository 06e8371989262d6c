"""fraud_ingest: every minute, score every transaction the feed published since the last run.

ingestion (fetch → validate → tokenize) → inference (features + model, or the scoring API
when FRAUDWATCH_API_URL is set) → persistence (decisions + alerts + dead letters +
checkpoint in one transaction, then the alert report).

Each task is one call into ``fraudwatch.orchestration.tasks``, imported inside the task:
parsing this file touches no database, network or model. Configuration comes from the
workers' ``FRAUDWATCH_*`` environment (see docs/airflow.md and docs/configuration.md); no secret is written here.

Re-running a run stores nothing twice: the run reads from the stored checkpoint, decisions
are upserted by ``trans_num`` and the checkpoint moves in the same transaction. Tasks are
not retried by Airflow: the feed client and the store already retry transient errors, and
the next run, a minute later, starts again from the unmoved checkpoint.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task, task_group


@dag(
    dag_id="fraud_ingest",
    schedule=timedelta(minutes=1),
    start_date=datetime(2025, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=10),
    default_args={"owner": "fraudwatch", "retries": 0},
    params={
        "max_records": Param(50_000, type="integer", minimum=1, description="Most per run."),
        "jedha_poll_seconds": Param(
            50.0, type="number", minimum=0, description="Polling time for a Jedha-style feed."
        ),
    },
    tags=["fraudwatch"],
    doc_md=__doc__,
)
def fraud_ingest() -> None:
    """Fetch, score and store the feed's new transactions."""

    @task_group
    def ingestion() -> Any:
        """Fetch every new transaction; validate and tokenize it in the same task."""

        @task
        def fetch_transactions() -> dict[str, Any]:
            """Transactions after the checkpoint, staged (a small reference is returned)."""
            from fraudwatch.orchestration import tasks

            context = get_current_context()
            params = context["params"]
            return tasks.fetch_transactions(
                context["run_id"],
                max_records=int(params["max_records"]),
                jedha_poll_seconds=float(params["jedha_poll_seconds"]),
            )

        return fetch_transactions()

    @task_group
    def inference(batch: Any) -> Any:
        """Score the staged transactions."""

        @task
        def score_transactions(batch: dict[str, Any]) -> dict[str, Any]:
            """Features + model in-process, or the scoring API."""
            from fraudwatch.orchestration import tasks

            return tasks.score_transactions(batch)

        return score_transactions(batch)

    @task_group
    def persistence(batch: Any) -> None:
        """Store the run in one transaction, then report its alerts."""

        @task
        def store_decisions(batch: dict[str, Any]) -> dict[str, Any]:
            """Decisions, alerts, dead letters and checkpoint together."""
            from fraudwatch.orchestration import tasks

            return tasks.store_decisions(batch)

        @task
        def report_alerts(batch: dict[str, Any]) -> dict[str, Any]:
            """Log the alerts and the run's summary."""
            from fraudwatch.orchestration import tasks

            return tasks.report_alerts(batch)

        report_alerts(store_decisions(batch))

    persistence(inference(ingestion()))


fraud_ingest()
