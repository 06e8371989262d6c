"""Lost connections and locks cost a retry, not an error; a dead server is reported, not hung on."""

from __future__ import annotations

import logging
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from fraudwatch.sinks import Store, database
from tests.sinks.factories import synthetic_decisions


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _backend_pid(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(admin: psycopg.Connection[Any], pid: int) -> None:
    # PostgreSQL 14+: wait (up to 5 s) until the backend is really gone
    terminated = admin.execute("SELECT pg_terminate_backend(%s, 5000)", [pid]).fetchone()
    assert terminated == (True,)


@pytest.mark.integration
def test_a_connection_killed_between_writes_is_replaced(
    pg_store: Store, admin_connection: psycopg.Connection[Any], caplog: pytest.LogCaptureFixture
) -> None:
    pg_store.write_batch(synthetic_decisions(1_000), checkpoint=("feed", "1000"))
    pid = _backend_pid(pg_store)  # the one pooled connection
    _terminate(admin_connection, pid)  # e.g. Neon suspending its compute, a server restart
    with caplog.at_level(logging.WARNING, logger="fraudwatch"):
        written = pg_store.write_batch(
            synthetic_decisions(1_000, start=1_000), checkpoint=("feed", "2000")
        )
    assert written == 1_000
    assert pg_store.count("decisions") == 2_000
    assert pg_store.checkpoint("feed") == "2000"
    assert _backend_pid(pg_store) != pid
    for record in caplog.records:  # pre-ping usually hides it; at worst it costs a retry
        assert "retrying" in record.getMessage()


@pytest.mark.integration
def test_a_connection_killed_inside_the_transaction_is_retried(
    pg_store: Store, admin_connection: psycopg.Connection[Any], caplog: pytest.LogCaptureFixture
) -> None:
    killed: list[int] = []

    @sa.event.listens_for(pg_store.engine, "before_cursor_execute")
    def kill_once(conn: sa.Connection, *_: object) -> None:
        if not killed:  # the first statement of the batch's transaction meets a dead backend
            pid = conn.connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
            killed.append(pid)
            _terminate(admin_connection, pid)

    with caplog.at_level(logging.WARNING, logger="fraudwatch"):
        written = pg_store.write_batch(synthetic_decisions(1_000), checkpoint=("feed", "1000"))
    sa.event.remove(pg_store.engine, "before_cursor_execute", kill_once)
    assert killed
    assert written == 1_000
    assert pg_store.count("decisions") == 1_000
    assert pg_store.checkpoint("feed") == "1000"
    retries = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(retries) == 1
    assert "write batch" in retries[0].getMessage()
    assert "attempt 1 of 5" in retries[0].getMessage()


def test_a_locked_sqlite_database_is_waited_for_and_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 100)  # shorter than the lock
    path = tmp_path / "locked.db"
    with Store(f"sqlite:///{path}") as store:
        store.upgrade()
        other = sqlite3.connect(path, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock for 0.6 s
        release = threading.Timer(0.6, other.rollback)
        release.start()
        started = time.perf_counter()
        with caplog.at_level(logging.WARNING, logger="fraudwatch"):
            assert store.write_batch(synthetic_decisions(100)) == 100
        release.join()
        other.close()
        assert time.perf_counter() - started >= 0.5
        assert store.count("decisions") == 100
    assert "database is locked" in caplog.text
    assert "retrying" in caplog.text


def test_ping_reports_a_down_server_quickly() -> None:
    store = Store(f"postgresql://fraud:pw-never-logged@127.0.0.1:{_closed_port()}/fraudwatch")
    started = time.perf_counter()
    assert store.ping() is False
    assert time.perf_counter() - started < 3.5
    store.close()


def test_ping_answers_for_live_databases(store: Store) -> None:
    assert store.ping() is True


def test_a_down_server_fails_after_masked_retries(caplog: pytest.LogCaptureFixture) -> None:
    url = f"postgres://fraud:pw-never-logged@127.0.0.1:{_closed_port()}/fraudwatch"
    store = Store(url, retry_attempts=3)
    with (
        caplog.at_level(logging.WARNING, logger="fraudwatch"),
        pytest.raises(OperationalError) as error,
    ):
        store.write_batch(synthetic_decisions(10))
    store.close()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # attempts 1 and 2 retried; the third failure propagates
    assert "pw-never-logged" not in caplog.text
    assert "pw-never-logged" not in str(error.value)
    assert "fraud:***@127.0.0.1" in caplog.text
