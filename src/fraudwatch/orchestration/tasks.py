"""The ``fraud_ingest`` DAG's tasks, one function each: settings in, library call, small dict out.

The DAG file imports this module only inside a running task, never while Airflow parses
it. Configuration is the ``FRAUDWATCH_*`` environment of the Airflow workers (feed URL,
database URL or ``NEON_DB_URI``, data folder, PAN key, optional scoring API URL and key):
no secret lives in the DAG. Each function returns the run's
:class:`~fraudwatch.orchestration.staging.RunBatch` as a dict, which Airflow hands to the
next task as an XCom.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fraudwatch.config import Settings, get_settings
from fraudwatch.orchestration import persist, staging
from fraudwatch.orchestration.ingest import ingest
from fraudwatch.orchestration.remote import ScoringApiClient
from fraudwatch.orchestration.score import score_run
from fraudwatch.orchestration.staging import RunBatch
from fraudwatch.privacy import pan_key_from_settings
from fraudwatch.sinks.store import Store

log = logging.getLogger(__name__)

INGEST_DAG_ID = "fraud_ingest"


def fetch_transactions(
    run_id: str, *, max_records: int = 50_000, jedha_poll_seconds: float = 50.0
) -> dict[str, Any]:
    """Ingestion: every transaction since the checkpoint, validated, tokenized and staged."""
    settings = _settings()
    data_dir = settings.data_dir.expanduser().absolute()
    folder = staging.run_folder(data_dir, INGEST_DAG_ID, run_id)
    if removed := staging.remove_stale(data_dir, INGEST_DAG_ID):
        log.info("removed %d staging folder(s) of old failed runs", removed)
    with Store.from_settings(settings) as store:
        store.upgrade()  # a no-op once the schema is current
        key = pan_key_from_settings(settings)
        batch = ingest(
            store, settings.feed_url, key, folder, _state_dir(settings),
            for_api=bool(settings.api_url), shared_state=bool(settings.redis_url),
            max_records=max_records,
            jedha_seconds=jedha_poll_seconds,
        )  # fmt: skip
    return batch.to_xcom()


def score_transactions(batch: Mapping[str, Any]) -> dict[str, Any]:
    """Inference: the staged transactions scored in-process, or by ``FRAUDWATCH_API_URL``."""
    settings = _settings()
    run = RunBatch.from_xcom(batch)
    if settings.api_url:
        key = settings.api_key.get_secret_value() if settings.api_key else None
        with ScoringApiClient(settings.api_url, key) as api:
            return score_run(run, service=None, state_dir=_state_dir(settings), api=api).to_xcom()
    service = None
    if run.valid:
        from fraudwatch.pipeline.build import build_service

        service = build_service(settings)
        with Store.from_settings(settings) as store:
            store.record_model_version(service.model_version, service.bundle.metadata)
    return score_run(run, service=service, state_dir=_state_dir(settings)).to_xcom()


def store_decisions(batch: Mapping[str, Any]) -> dict[str, Any]:
    """Persistence: decisions, alerts, dead letters and checkpoint in one transaction."""
    settings = _settings()
    with Store.from_settings(settings) as store:
        return persist.store_run(store, RunBatch.from_xcom(batch), _state_dir(settings)).to_xcom()


def report_alerts(batch: Mapping[str, Any]) -> dict[str, Any]:
    """Persistence: log the run's alerts and summary, then remove its staging folder."""
    _settings()
    return persist.report_alerts(RunBatch.from_xcom(batch)).to_xcom()


def _settings() -> Settings:
    """The settings of this task's process, with our loggers at the configured level."""
    settings = get_settings()
    logging.getLogger("fraudwatch").setLevel(settings.log_level)
    return settings


def _state_dir(settings: Settings) -> Path:
    return settings.data_dir.expanduser().absolute() / "state"
