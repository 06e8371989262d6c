"""Reaching the database: URL normalisation, the engine factory, and retry of transient errors.

A managed Postgres (Neon) suspends its compute when idle and drops connections when it
restarts; a laptop's SQLite file is briefly locked by a second writer. Both should cost a
retry, not an error: the engine pings pooled connections before use, recycles them before
a proxy's idle timeout, keeps TCP alive, and :func:`with_retry` repeats a whole unit of
work on errors that a second attempt can cure (the one policy of :mod:`fraudwatch.retry`).
URLs are only ever logged masked.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError, OperationalError

from fraudwatch.retry import error_text, retry_call
from fraudwatch.sinks.neon import neon_connect_args

log = logging.getLogger(__name__)

T = TypeVar("T")
SQLITE_FILE = "fraudwatch.db"
#: How long a SQLite writer waits for another writer's lock before the driver gives up.
SQLITE_BUSY_TIMEOUT_MS = 5_000
#: SQLite page cache per connection (KiB) and WAL pages between automatic checkpoints.
SQLITE_CACHE_KIB = 65_536
SQLITE_CHECKPOINT_PAGES = 10_000
#: Seconds a pooled Postgres connection may live: below the idle cut-off of proxies/poolers.
POOL_RECYCLE_S = 300
CONNECT_TIMEOUT_S = 10
_POSTGRES_CONNECT_ARGS: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "connect_timeout": CONNECT_TIMEOUT_S,
    "application_name": "fraudwatch",
}
_SECRET_QUERY_KEYS = frozenset({"password", "sslpassword"})
_USERINFO_PASSWORD = re.compile(r"(//[^/:@]*:)[^@/]*@")
#: SQLSTATE classes a retry can cure: connection exceptions, serialization failures and
#: deadlocks, operator intervention (server shutting down, backend terminated).
_TRANSIENT_SQLSTATE_PREFIXES = ("08", "40", "57P", "53300")
#: Connection failures that no retry cures (checked when the driver gives no SQLSTATE).
_PERMANENT_MESSAGES = ("authentication failed", "does not exist", "no password supplied")
#: Longest wait between two attempts: a store call is waited for by a scoring loop or a page.
_MAX_DELAY_S = 10.0


def database_url(configured: str | None, data_dir: Path) -> str:
    """The store's SQLAlchemy URL: the configured one (normalised) or a SQLite file in data_dir."""
    if configured is None or not configured.strip():
        folder = data_dir.expanduser().absolute()
        folder.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{folder / SQLITE_FILE}"
    return normalise_url(configured.strip())


def normalise_url(url: str) -> str:
    """Point ``postgres://`` / ``postgresql://`` URLs at psycopg 3; leave any other URL alone."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in {"postgres", "postgresql"}:
        return f"postgresql+psycopg://{rest}"
    return url


def mask_url(url: str | URL) -> str:
    """The URL with its password (in the user part or the query) replaced by ``***``."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return _USERINFO_PASSWORD.sub(r"\1***@", str(url))
    secret_keys = [key for key in parsed.query if key.lower() in _SECRET_QUERY_KEYS]
    if secret_keys:
        parsed = parsed.update_query_dict({key: "***" for key in secret_keys})
    return parsed.render_as_string(hide_password=True).replace("%2A%2A%2A", "***")


def scrub(text: str, url: str | URL) -> str:
    """``text`` with the URL's password removed (for error messages that might echo it)."""
    try:
        password = make_url(url).password
    except ArgumentError:
        return _USERINFO_PASSWORD.sub(r"\1***@", text)
    if password:
        text = text.replace(str(password), "***")
    return text


def backend_name(url: str | URL) -> str:
    """The dialect of a URL: ``sqlite``, ``postgresql``, ..."""
    return make_url(url).get_backend_name()


def create_engine(url: str) -> Engine:
    """An engine tuned for the backend: SQLite in WAL mode, Postgres with live-checked pools."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        return sa.create_engine(
            parsed,
            pool_pre_ping=True,
            pool_recycle=POOL_RECYCLE_S,
            connect_args=postgres_connect_args(parsed),
        )
    return sa.create_engine(parsed, pool_pre_ping=True)


def postgres_connect_args(url: str | URL) -> dict[str, Any]:
    """Our driver defaults for a Postgres URL (keepalives, timeout, Neon's TLS); the URL wins."""
    parsed = make_url(url)
    wanted = {**_POSTGRES_CONNECT_ARGS, **neon_connect_args(parsed)}
    connect_args = {k: v for k, v in wanted.items() if k not in parsed.query}
    if parsed.get_driver_name() != "psycopg":
        connect_args.pop("application_name", None)
    return connect_args


def sqlite_file(url: str | URL) -> Path | None:
    """The database file of a SQLite URL; None for in-memory and ``file:`` URI databases."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def _sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints, fast commits
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            # upserts keyed by random trans_nums touch index pages all over the file: a
            # 64 MiB page cache (default 2 MiB) and checkpoints every ~40 MiB of WAL (default
            # ~4 MiB) write 500,000 decisions ~40 % faster (benchmarks/store_write.py)
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_CHECKPOINT_PAGES}")
        finally:
            cursor.close()

    return engine


def is_transient(error: BaseException) -> bool:
    """Whether a second attempt may succeed: lost connections, locks, serialization failures."""
    if isinstance(error, DisconnectionError):
        return True
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        original = error.orig
        if isinstance(original, sqlite3.OperationalError):
            # SQLite reports every problem as OperationalError; only locks are transient.
            text = str(original).lower()
            return "locked" in text or "busy" in text
        sqlstate = getattr(original, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate:
            return sqlstate.startswith(_TRANSIENT_SQLSTATE_PREFIXES)
        text = str(original).lower()
        if any(message in text for message in _PERMANENT_MESSAGES):
            return False
        return isinstance(error, OperationalError)
    return isinstance(error, ConnectionError | TimeoutError)


def with_retry(
    fn: Callable[[], T],
    attempts: int = 5,
    base_delay: float = 0.2,
    *,
    url: str | URL | None = None,
    what: str = "database operation",
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn``; on a transient error wait and call it again (:mod:`fraudwatch.retry`).

    ``fn`` must be a whole unit of work (one transaction), so repeating it is safe. Each
    retry is logged at WARNING with the masked URL and the error's first line, its password
    scrubbed; non-transient errors (constraint violations, bad SQL) and the last failure
    propagate unchanged.
    """
    where = mask_url(url) if url is not None else "the database"

    def describe(error: BaseException) -> str:
        text = error_text(error)
        return scrub(text, url) if url is not None else text

    return retry_call(
        fn,
        retry_if=is_transient,
        what=f"{what} on {where}",
        logger=log,
        attempts=attempts,
        base_delay=base_delay,
        max_delay=_MAX_DELAY_S,
        describe=describe,
        sleep=sleep,
    )
