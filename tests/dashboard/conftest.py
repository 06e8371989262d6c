"""Dashboard fixtures: a seeded store on SQLite and on the real PostgreSQL, and AppTest runs.

``seeded`` writes a few thousand decisions (``make_decisions`` → ``Store.write_batch``) and
some analyst labels into the ``database_url`` database (parametrised over both backends),
and points the settings at it, as ``fraudwatch dashboard --database-url`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from fraudwatch.dashboard.server import APP_SCRIPT
from fraudwatch.dashboard.source import Reader, close_readers, reader_for
from tests.conftest import _postgres_schema
from tests.dashboard.seed import Seeded, seed_store


@dataclass
class SeededStore:
    """A seeded database: its URL, what was written, and a plain engine for checking SQL."""

    url: str
    seeded: Seeded
    engine: sa.Engine

    @property
    def reader(self) -> Reader:
        """The dashboard's reader of this database."""
        return reader_for(self.url)

    def scalar(self, sql: str, **params: object) -> object:
        """One value of an independent SQL query."""
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar_one()

    def rows(self, sql: str, **params: object) -> list[sa.Row[object]]:
        """All rows of an independent SQL query."""
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))


@pytest.fixture
def point_settings_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Point FRAUDWATCH_DATABASE_URL at a URL; readers are closed after the test."""
    from fraudwatch.config import get_settings

    def point(url: str) -> None:
        monkeypatch.setenv("FRAUDWATCH_DATABASE_URL", url)
        get_settings.cache_clear()

    yield point
    close_readers()
    get_settings.cache_clear()


@contextmanager
def _seeded(url: str, point_settings_at: Callable[[str], None]) -> Iterator[SeededStore]:
    """Seed the database at ``url`` and point the settings at it; close its readers after."""
    data = seed_store(url)
    point_settings_at(url)
    engine = sa.create_engine(url)
    try:
        yield SeededStore(url, data, engine)
    finally:
        close_readers()  # before a PostgreSQL schema is dropped
        engine.dispose()


@pytest.fixture
def seeded(database_url: str, point_settings_at: Callable[[str], None]) -> Iterator[SeededStore]:
    """A database with 3,000 decisions and labelled alerts; the settings point at it."""
    with _seeded(database_url, point_settings_at) as store:
        yield store


@pytest.fixture
def seeded_postgres(
    request: pytest.FixtureRequest, point_settings_at: Callable[[str], None]
) -> Iterator[SeededStore]:
    """Like ``seeded``, on the real PostgreSQL server only."""
    with _postgres_schema(request) as url, _seeded(url, point_settings_at) as store:
        yield store


def app_test(page: str = "Overview", **state: object) -> AppTest:
    """The dashboard script, on ``page``, with session state set, after its first run."""
    app = AppTest.from_file(str(APP_SCRIPT), default_timeout=60)
    app.session_state["page"] = page
    app.session_state["refresh"] = "off"
    for key, value in state.items():
        app.session_state[key] = value
    return app.run()


def metrics(app: AppTest) -> dict[str, str]:
    """The metric cards shown, label → value."""
    return {metric.label: metric.value for metric in app.metric}
