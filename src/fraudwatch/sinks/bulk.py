"""Bulk writes inside one open transaction: upsert decisions, add alerts, dead letters, checkpoint.

Two ways to upsert a batch, chosen by driver:

* psycopg 3 (Postgres, Neon): ``COPY`` the batch into a session-local staging table, then
  one ``INSERT ... SELECT ... ON CONFLICT (trans_num) DO UPDATE`` and one alerts
  ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``: a fixed number of round trips per batch,
  whatever its size, which matters when the database is a network hop away. The staging
  table is ``CREATE TEMP TABLE IF NOT EXISTS ... ON COMMIT DELETE ROWS``: made once per
  server session, emptied by every commit, gone with the session (also safe behind a
  transaction-mode pooler such as Neon's, since its name changes with its columns).
* SQLite: ``executemany`` of the same upsert straight on the driver (one precompiled
  statement, tuples, times as text), which is cheap in-process. Other Postgres drivers
  get the upsert through SQLAlchemy's ``executemany``.

Every function takes the caller's connection and never commits: the caller's transaction
makes the whole batch atomic.
"""

from __future__ import annotations

import hashlib
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.schema import CreateTable

from fraudwatch.decision import DECISION_COLUMNS
from fraudwatch.sinks import tables
from fraudwatch.sinks.records import alert_rows

if TYPE_CHECKING:  # psycopg is the optional 'postgres' extra: SQLite installs run without it
    import psycopg

_STAGED = [(c.name, str(c.type)) for c in tables.decisions.columns if c.name in DECISION_COLUMNS]
#: Named after its columns: a pooler may hand us a server session that still holds the
#: staging table of an older fraudwatch, which must not be mistaken for ours.
STAGE_TABLE = f"fraudwatch_stage_{hashlib.sha256(repr(_STAGED).encode()).hexdigest()[:10]}"
_UPDATED = tuple(name for name in DECISION_COLUMNS if name != "trans_num")
_ALERT_COLUMNS = ("trans_num", "risk_level", "fraud_probability")
_CHECKPOINT_COLUMNS = ("source_id", "position")

_stage = sa.Table(
    STAGE_TABLE,
    sa.MetaData(),
    *(sa.Column(c.name, c.type) for c in tables.decisions.columns if c.name in DECISION_COLUMNS),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",
)


def dialect_insert(conn: Connection, table: sa.Table) -> Any:
    """The dialect's INSERT construct, the one that knows ``ON CONFLICT``."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(
        f"unsupported database dialect {conn.dialect.name!r}: fraudwatch stores to SQLite or "
        "PostgreSQL"
    )


def _upsert(insert: Any) -> Any:
    """``insert`` with ON CONFLICT (trans_num) DO UPDATE of every column, refreshing inserted_at."""
    updates: dict[str, Any] = {name: insert.excluded[name] for name in _UPDATED}
    updates["inserted_at"] = sa.func.now()
    return insert.on_conflict_do_update(index_elements=["trans_num"], set_=updates)


def _checkpoint_upsert(insert: Any) -> Any:
    """``insert`` of a checkpoint row that moves the position when the source has one."""
    insert = insert.values({name: sa.bindparam(name) for name in _CHECKPOINT_COLUMNS})
    return insert.on_conflict_do_update(
        index_elements=["source_id"],
        set_={"position": insert.excluded.position, "updated_at": sa.func.now()},
    )


def times_as_text(dialect: Dialect) -> bool:
    """Whether :func:`write_decisions` takes event times as text on this dialect.

    SQLite's upsert and psycopg's COPY take ``YYYY-MM-DD HH:MM:SS.ffffff``; other drivers
    go through SQLAlchemy, which wants ``datetime`` objects.
    """
    return dialect.name == "sqlite" or (
        dialect.name == "postgresql" and dialect.driver == "psycopg"
    )


def write_decisions(conn: Connection, columns: dict[str, list[Any]]) -> None:
    """Upsert decisions by trans_num (the later write wins) and add alerts for flagged ones.

    ``columns``: :func:`~fraudwatch.sinks.records.decision_columns` of the batch, with
    event times as text when :func:`times_as_text` says so for this connection.
    """
    if not columns["trans_num"]:
        return
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        _copy_upsert(conn, columns)
    elif conn.dialect.name == "sqlite":
        _sqlite_upsert(conn, columns)
    else:
        _executemany_upsert(conn, columns)


@cache
def _sqlite_statements() -> tuple[str, str, str]:
    dialect = sqlite.dialect()
    insert = sqlite.insert(tables.decisions).values(
        {name: sa.bindparam(name) for name in DECISION_COLUMNS}
    )
    upsert = _upsert(insert).compile(dialect=dialect)
    alerts = (
        sqlite.insert(tables.alerts)
        .values({name: sa.bindparam(name) for name in _ALERT_COLUMNS})
        .on_conflict_do_nothing(index_elements=["trans_num"])
        .compile(dialect=dialect)
    )
    checkpoint = _checkpoint_upsert(sqlite.insert(tables.checkpoints)).compile(dialect=dialect)
    if (
        upsert.positiontup != list(DECISION_COLUMNS)
        or alerts.positiontup != list(_ALERT_COLUMNS)
        or checkpoint.positiontup != list(_CHECKPOINT_COLUMNS)
    ):
        raise RuntimeError("unexpected parameter order in the SQLite upsert")  # pragma: no cover
    return str(upsert), str(alerts), str(checkpoint)


#: Batches up to this many rows are upserted by one multi-row statement (16 parameters a
#: row: well under the 999 a SQLite older than 3.32 allows).
SQLITE_ONE_STATEMENT_ROWS = 32


@lru_cache(maxsize=SQLITE_ONE_STATEMENT_ROWS)
def _sqlite_multirow_upsert(rows: int) -> str:
    """The decisions upsert with ``rows`` parenthesised value groups in one VALUES list."""
    head, tail = _sqlite_statements()[0].split(" VALUES ", 1)
    group, conflict = tail.split(" ON CONFLICT ", 1)
    return f"{head} VALUES {', '.join([group] * rows)} ON CONFLICT {conflict}"


def _sqlite_upsert(conn: Connection, columns: dict[str, list[Any]]) -> None:
    """Upsert on the driver: one statement for a small batch, else ``executemany``.

    The sqlite3 module lets go of the GIL around every row it steps and takes it back
    after; in a process whose other thread is scoring, each take-back can wait for that
    thread (up to the 5 ms switch interval). A small batch in one statement is one step.
    """
    upsert, insert_alerts, _ = _sqlite_statements()
    rows = list(zip(*(columns[name] for name in DECISION_COLUMNS), strict=True))
    if 1 < len(rows) <= SQLITE_ONE_STATEMENT_ROWS:
        values = tuple(value for row in rows for value in row)
        conn.exec_driver_sql(_sqlite_multirow_upsert(len(rows)), values)
    else:
        conn.exec_driver_sql(upsert, rows)
    flagged = [tuple(row[name] for name in _ALERT_COLUMNS) for row in alert_rows(columns)]
    if flagged:
        conn.exec_driver_sql(insert_alerts, flagged)


def _executemany_upsert(conn: Connection, columns: dict[str, list[Any]]) -> None:
    names = list(DECISION_COLUMNS)
    ordered = [columns[name] for name in names]
    rows = [dict(zip(names, values, strict=True)) for values in zip(*ordered, strict=True)]
    conn.execute(_upsert(dialect_insert(conn, tables.decisions)), rows)
    flagged = alert_rows(columns)
    if flagged:
        alert_insert = dialect_insert(conn, tables.alerts)
        conn.execute(alert_insert.on_conflict_do_nothing(index_elements=["trans_num"]), flagged)


@cache
def _postgres_statements() -> tuple[str, str, str, str]:
    dialect = PGDialect()  # type: ignore[no-untyped-call]
    quote = dialect.identifier_preparer.quote
    create = str(CreateTable(_stage, if_not_exists=True).compile(dialect=dialect))
    copy = f"COPY {quote(STAGE_TABLE)} ({', '.join(map(quote, DECISION_COLUMNS))}) FROM STDIN"
    from_stage = sa.select(*(_stage.c[name] for name in DECISION_COLUMNS))
    upsert = _upsert(
        postgresql.insert(tables.decisions).from_select(list(DECISION_COLUMNS), from_stage)
    )
    alerts = (
        postgresql.insert(tables.alerts)
        .from_select(
            list(_ALERT_COLUMNS),
            sa.select(*(_stage.c[name] for name in _ALERT_COLUMNS)).where(_stage.c.decision == 1),
        )
        .on_conflict_do_nothing(index_elements=["trans_num"])
    )
    literal = {"literal_binds": True}  # no parameters: the statements read the staging table
    return (
        create,
        copy,
        str(upsert.compile(dialect=dialect, compile_kwargs=literal)),
        str(alerts.compile(dialect=dialect, compile_kwargs=literal)),
    )


def _copy_upsert(conn: Connection, columns: dict[str, list[Any]]) -> None:
    create, copy_sql, upsert, insert_alerts = _postgres_statements()
    conn.exec_driver_sql(create)
    raw = cast("psycopg.Connection[Any]", conn.connection.dbapi_connection)
    with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for row in zip(*(columns[name] for name in DECISION_COLUMNS), strict=True):
            copy.write_row(row)
    conn.exec_driver_sql(upsert)
    conn.exec_driver_sql(insert_alerts)


def insert_dead_letters(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append dead-letter rows (already in table form)."""
    if rows:
        conn.execute(sa.insert(tables.dead_letter), rows)


@cache
def _postgres_checkpoint_upsert() -> Any:
    """The checkpoint upsert for PostgreSQL, built once (SQLAlchemy caches its compiled form)."""
    return _checkpoint_upsert(postgresql.insert(tables.checkpoints))


def upsert_checkpoint(conn: Connection, source_id: str, position: str) -> None:
    """Set the source's position (created on first use)."""
    if conn.dialect.name == "sqlite":  # precompiled, like the decisions upsert
        conn.exec_driver_sql(_sqlite_statements()[2], (source_id, position))
        return
    if conn.dialect.name != "postgresql":
        dialect_insert(conn, tables.checkpoints)  # raises the error naming the dialect
    conn.execute(_postgres_checkpoint_upsert(), {"source_id": source_id, "position": position})
