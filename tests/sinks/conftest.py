"""Store fixtures: every store test runs on a SQLite file and on the real PostgreSQL server.

PostgreSQL: one fresh database per test session (``fraudwatch_test_<random>``, created as
user ``postgres`` over trust auth, dropped at the end), or ``FRAUDWATCH_TEST_DATABASE_URL``
when set; each test then gets its own schema in it (via ``search_path``), so tests start
empty and never see each other's rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from fraudwatch.sinks import Store
from tests.conftest import _postgres_schema, libpq_url


@pytest.fixture
def admin_connection(
    postgres_address: tuple[str, int], postgres_database_url: str
) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A second, autocommit connection to the test database (to break the store's ones)."""
    with psycopg.connect(libpq_url(postgres_database_url), autocommit=True) as conn:
        yield conn


@pytest.fixture
def blank_store(store_url: str) -> Iterator[Store]:
    """A store on an empty database (no tables yet)."""
    store = Store(store_url)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def store(blank_store: Store) -> Store:
    """A migrated, empty store."""
    blank_store.upgrade()
    return blank_store


@pytest.fixture
def pg_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """A migrated, empty store on the real PostgreSQL server only."""
    with _postgres_schema(request) as url:
        store = Store(url)
        try:
            store.upgrade()
            yield store
        finally:
            store.close()
