"""The long-lived objects the settings describe, built in one place for every front.

The API server, the DAG tasks and the command line each need a store and a scoring
service made from :class:`~fraudwatch.config.Settings`. Built three times, the three
drifted: the API opened ``FRAUDWATCH_DATABASE_URL`` itself and so migrated over the pooled
URL, ignoring ``FRAUDWATCH_DIRECT_DATABASE_URL``. Here is the one recipe of each.
"""

from __future__ import annotations

from pathlib import Path

from fraudwatch.config import Settings
from fraudwatch.model.registry import champion_dir
from fraudwatch.pipeline.service import ScoringService
from fraudwatch.privacy import pan_key_from_settings
from fraudwatch.sinks.database import database_url
from fraudwatch.sinks.store import Store

__all__ = ["build_service", "build_store"]


def build_store(settings: Settings, url: str | None = None) -> Store:
    """The store the settings point at, or the database ``url`` names instead.

    Without ``url``: :meth:`Store.from_settings` (``FRAUDWATCH_DATABASE_URL``, migrated over
    ``FRAUDWATCH_DIRECT_DATABASE_URL`` when set; else SQLite in the data folder). A ``url``
    given on the command line or by a test is a database of its own: the configured direct
    URL belongs to the configured database, not to it (a Neon pooled URL still migrates
    over its direct twin).
    """
    if url is None:
        return Store.from_settings(settings)
    return Store(database_url(url, settings.data_dir))


def build_service(settings: Settings, model_dir: Path | None = None) -> ScoringService:
    """The scoring service over ``model_dir`` (default: the champion) with the settings' key.

    Per-card state lives in ``FRAUDWATCH_REDIS_URL`` when it is set, for every front alike
    (the API, the live runner and the DAG's score task score side by side on one history).
    """
    folder = model_dir or champion_dir(settings.data_dir)
    return ScoringService.from_model_dir(
        folder, pan_key_from_settings(settings), redis_url=settings.redis_url
    )
