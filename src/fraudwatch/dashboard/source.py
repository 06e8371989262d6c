"""How the dashboard reaches the store: a read-only engine per URL and retried queries.

The dashboard reads what the pipeline writes and writes nothing but analyst labels (through
:meth:`fraudwatch.sinks.Store.add_label`). Its own connections are made read-only by the
database itself (``SET TRANSACTION READ ONLY`` on Postgres, ``PRAGMA query_only`` on
SQLite), so a bug in a page cannot change data. The engine is the store's tuned one
(``pool_pre_ping``, recycling, TCP keep-alives) and every query is one unit of work run
through :func:`~fraudwatch.sinks.database.with_retry`: a Neon compute waking up or a
restarted server costs a retry, not an error on screen.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from fraudwatch.config import get_settings
from fraudwatch.sinks import tables
from fraudwatch.sinks.database import (
    backend_name,
    create_engine,
    database_url,
    mask_url,
    normalise_url,
    with_retry,
)
from fraudwatch.sinks.store import Store

T = TypeVar("T")


class Reader:
    """Read-only access to one store for the dashboard's queries (thread-safe, pooled)."""

    def __init__(self, url: str, *, retry_attempts: int = 5) -> None:
        self.url = normalise_url(url)
        self.backend = backend_name(self.url)
        self.retry_attempts = retry_attempts
        engine = create_engine(self.url)
        if self.backend == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_query_only)
            self.engine: Engine = engine
        else:
            self.engine = engine.execution_options(postgresql_readonly=True)
        self._base_engine = engine
        self._store: Store | None = None
        self._lock = threading.Lock()

    @property
    def masked_url(self) -> str:
        """The URL for messages, password hidden."""
        return mask_url(self.url)

    def __repr__(self) -> str:
        return f"Reader({self.masked_url!r})"

    def run(self, query: Callable[[Connection], T], what: str) -> T:
        """Run ``query`` on a fresh connection, repeated on transient errors."""

        def unit() -> T:
            with self.engine.connect() as conn:
                return query(conn)

        return with_retry(unit, attempts=self.retry_attempts, url=self.url, what=what)

    def has_schema(self) -> bool:
        """Whether the store's tables exist (a fresh database has none until the pipeline runs)."""

        def check(conn: Connection) -> bool:
            names = set(sa.inspect(conn).get_table_names())
            return {tables.decisions.name, tables.labels.name} <= names

        return self.run(check, "look for the tables")

    @property
    def store(self) -> Store:
        """The read-write store, for the one write the dashboard makes: analyst labels."""
        with self._lock:
            if self._store is None:
                self._store = Store(self.url, retry_attempts=self.retry_attempts)
            return self._store

    def close(self) -> None:
        """Close every pooled connection."""
        self._base_engine.dispose()
        if self._store is not None:
            self._store.close()


def _sqlite_query_only(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA query_only=ON")
    finally:
        cursor.close()


_READERS: dict[str, Reader] = {}
_READERS_LOCK = threading.Lock()


def configured_url() -> str:
    """The store the settings point at: ``FRAUDWATCH_DATABASE_URL``, else SQLite in DATA_DIR."""
    settings = get_settings()
    return database_url(settings.database_url, settings.data_dir)


def reader_for(url: str | None = None) -> Reader:
    """The process-wide reader of a store (default: the configured one), made on first use."""
    key = normalise_url(url) if url else configured_url()
    with _READERS_LOCK:
        reader = _READERS.get(key)
        if reader is None:
            reader = _READERS[key] = Reader(key)
        return reader


def close_readers() -> None:
    """Close and forget every reader (tests; a long-lived process never needs it)."""
    with _READERS_LOCK:
        for reader in _READERS.values():
            reader.close()
        _READERS.clear()
