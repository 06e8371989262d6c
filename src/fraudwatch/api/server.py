"""Running the scoring API: the model, PAN key, store and keys from the settings, then uvicorn.

The CLI's ``fraudwatch serve`` calls :func:`run`; tests and other programs can build the
same app with :func:`build_app` and run it however they like.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from fraudwatch.api.app import DEFAULT_BATCH_LIMIT, create_app
from fraudwatch.config import Settings, get_settings
from fraudwatch.log import configure_logging
from fraudwatch.pipeline.build import build_service, build_store
from fraudwatch.sinks.store import Store

log = logging.getLogger(__name__)


def configured_api_keys(settings: Settings) -> list[str]:
    """API keys from the settings (``FRAUDWATCH_API_KEYS``: a list, or comma-separated text)."""
    secret = settings.api_keys
    text = secret.get_secret_value() if secret is not None else ""
    return [key.strip() for key in text.split(",") if key.strip()]


def build_app(
    model_dir: Path | None = None,
    database_url: str | None = None,
    *,
    api_keys: Sequence[str] | None = None,
    batch_limit: int = DEFAULT_BATCH_LIMIT,
    settings: Settings | None = None,
) -> tuple[FastAPI, Store]:
    """The app over the given (or champion) model and the given (or configured) database.

    Model, PAN key and store come from :mod:`fraudwatch.pipeline.build`, as for the other
    fronts (the configured store migrates over ``FRAUDWATCH_DIRECT_DATABASE_URL``). The
    schema is brought up to date first; if the database cannot be reached the API starts
    anyway and ``/ready`` reports it.
    """
    settings = settings or get_settings()
    service = build_service(settings, model_dir)
    store = build_store(settings, database_url)
    try:
        store.upgrade()
    except Exception as error:  # the store already retried; /ready will say it is down
        log.error("database %s is not usable: %s", store.masked_url, type(error).__name__)
    keys = configured_api_keys(settings) if api_keys is None else list(api_keys)
    app = create_app(service, store=store, api_keys=keys, batch_limit=batch_limit)
    return app, store


def run(
    model_dir: Path | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    database_url: str | None = None,
    *,
    api_keys: Sequence[str] | None = None,
    batch_limit: int = DEFAULT_BATCH_LIMIT,
) -> None:
    """Serve the API with uvicorn until interrupted (logs through fraudwatch's handler)."""
    settings = get_settings()
    configure_logging(settings.log_level)
    app, store = build_app(
        model_dir, database_url, api_keys=api_keys, batch_limit=batch_limit, settings=settings
    )
    try:
        uvicorn.run(
            app, host=host, port=port, log_config=None, access_log=False, timeout_keep_alive=75
        )
    finally:
        store.close()
