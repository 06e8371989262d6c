"""Shared fixtures: paths, a PAN key, the real services' addresses, and empty databases.

PostgreSQL: one fresh database per test session (``fraudwatch_test_<random>``, created as
user ``postgres`` over trust auth, dropped at the end), or ``FRAUDWATCH_TEST_DATABASE_URL``
when set; each test then gets its own schema in it (via ``search_path``), so tests start
empty and never see each other's rows.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import make_url

from fraudwatch.sinks.database import normalise_url
from tests.services import require_service

FIXTURES = Path(__file__).parent / "fixtures"
KAGGLE_HEAD = FIXTURES / "kaggle_fraudTest_head.csv"
POSTGRES_HOST = os.environ.get("FRAUDWATCH_TEST_PG_HOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("FRAUDWATCH_TEST_PG_PORT", "5432"))
REDIS_HOST = os.environ.get("FRAUDWATCH_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("FRAUDWATCH_TEST_REDIS_PORT", "6379"))
TEST_DATABASE_URL_ENV = "FRAUDWATCH_TEST_DATABASE_URL"

# CI replays the same examples every run (a red CI is then always reproducible); on a
# laptop hypothesis explores new examples each time and remembers the failing ones.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("dev")
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.integration)]


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Each test gets its own data folder and never reads a developer's .env or key."""
    from fraudwatch.config import Settings, get_settings

    for name in Settings.model_fields:  # a developer's shell never reaches a test
        monkeypatch.delenv(f"FRAUDWATCH_{name.upper()}", raising=False)
    monkeypatch.delenv("NEON_DB_URI", raising=False)
    monkeypatch.setenv("FRAUDWATCH_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def kaggle_head() -> Path:
    """The first 5,116 real rows of Kaggle's fraudTest.csv."""
    return KAGGLE_HEAD


@pytest.fixture
def pan_key() -> bytes:
    """A fixed test key for card tokens."""
    return b"test-key-0123456789abcdef"


@pytest.fixture
def postgres_address() -> tuple[str, int]:
    """Host and port of the real PostgreSQL server (skips or fails when it is down)."""
    require_service("PostgreSQL", POSTGRES_HOST, POSTGRES_PORT)
    return POSTGRES_HOST, POSTGRES_PORT


@pytest.fixture
def redis_address() -> tuple[str, int]:
    """Host and port of the real Redis server (skips or fails when it is down)."""
    require_service("Redis", REDIS_HOST, REDIS_PORT)
    return REDIS_HOST, REDIS_PORT


def libpq_url(url: str) -> str:
    """A SQLAlchemy Postgres URL in the form psycopg.connect accepts."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_search_path(url: str, schema: str) -> str:
    """The URL with every connection's search_path set to ``schema``."""
    parsed = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    """SQLAlchemy URL of a database on the real server that this session may fill and drop."""
    configured = os.environ.get(TEST_DATABASE_URL_ENV)
    if configured:
        yield normalise_url(configured)
        return
    require_service("PostgreSQL", POSTGRES_HOST, POSTGRES_PORT)
    name = f"fraudwatch_test_{secrets.token_hex(4)}"
    admin = f"postgresql://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _postgres_schema(request: pytest.FixtureRequest) -> Iterator[str]:
    request.getfixturevalue("postgres_address")  # skips, or fails under REQUIRE_SERVICES
    database = request.getfixturevalue("postgres_database_url")
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(libpq_url(database), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_search_path(database, schema)
    finally:
        with psycopg.connect(libpq_url(database), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database: a SQLite file, or a fresh schema on the real server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'fraudwatch.db'}"
    else:
        with _postgres_schema(request) as url:
            yield url


@pytest.fixture
def database_url(store_url: str) -> str:
    """URL of an empty database, SQLite or PostgreSQL (for the pipeline and API tests)."""
    return store_url
