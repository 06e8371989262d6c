"""What the Airflow DAGs run: each task is one call into :mod:`fraudwatch.orchestration.tasks`.

``fraud_ingest`` (every minute) fetches every transaction the feed published since the
stored checkpoint, validates and tokenizes it, scores it (in-process, or through the
scoring API when ``FRAUDWATCH_API_URL`` is set), stores decisions, alerts, dead letters
and the new checkpoint in one database transaction, and reports the alerts. Tasks hand
each other a small :class:`~fraudwatch.orchestration.staging.RunBatch` reference; the
data waits in the run's staging folder. Nothing here imports Airflow: the functions run
and are tested without it.
"""
