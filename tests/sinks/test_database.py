"""URLs, settings, masking and the retry rule of the store's database layer."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from fraudwatch.config import Settings, get_settings
from fraudwatch.sinks import Store, database_url, mask_url, with_retry
from fraudwatch.sinks.database import is_transient


def test_unset_url_means_a_sqlite_file_in_the_data_folder(tmp_path: Path) -> None:
    folder = tmp_path / "not" / "yet"
    for configured in (None, "", "   "):
        assert database_url(configured, folder) == f"sqlite:///{folder / 'fraudwatch.db'}"
    assert folder.is_dir()


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ("postgres://u:p@ep-x.neon.tech/db?sslmode=require",
         "postgresql+psycopg://u:p@ep-x.neon.tech/db?sslmode=require"),
        ("postgresql://u@localhost:5433/db", "postgresql+psycopg://u@localhost:5433/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("sqlite:////var/lib/fw.db", "sqlite:////var/lib/fw.db"),
        ("mysql+pymysql://u@h/db", "mysql+pymysql://u@h/db"),
    ],
)  # fmt: skip
def test_postgres_urls_are_pointed_at_psycopg3(configured: str, expected: str) -> None:
    assert database_url(configured, Path("unused")) == expected


def test_neon_db_uri_is_accepted_and_the_fraudwatch_variable_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    neon = "postgres://neon_user:neon-secret@ep-cool-1.eu-central-1.aws.neon.tech/neondb"
    monkeypatch.setenv("NEON_DB_URI", neon)
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.database_url == neon
    assert database_url(settings.database_url, settings.data_dir).startswith(
        "postgresql+psycopg://neon_user:neon-secret@ep-cool-1"
    )
    assert "neon-secret" not in repr(settings)

    monkeypatch.setenv("FRAUDWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'own.db'}")
    assert Settings().database_url == f"sqlite:///{tmp_path / 'own.db'}"
    assert Settings(database_url="sqlite:///given.db").database_url == "sqlite:///given.db"


def test_store_from_settings_uses_the_configured_or_default_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    get_settings.cache_clear()
    with Store.from_settings() as store:  # nothing configured: SQLite in FRAUDWATCH_DATA_DIR
        assert store.url == f"sqlite:///{tmp_path / 'data' / 'fraudwatch.db'}"
    monkeypatch.setenv("FRAUDWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    get_settings.cache_clear()
    with Store.from_settings() as store:
        store.upgrade()
        assert store.count("decisions") == 0
    assert (tmp_path / "elsewhere.db").is_file()


def test_unsupported_backend_is_refused_without_showing_the_password() -> None:
    with pytest.raises(ValueError, match="SQLite or PostgreSQL") as raised:
        Store("mysql://root:hunter2@db/fraud")
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("postgresql+psycopg://fraud:s3cr%40t@db.example.com:5432/fw", "s3cr"),
        ("postgres://neon:npg_AbC123@ep-x-pooler.neon.tech/neondb?sslmode=require", "npg_AbC123"),
        ("postgresql://fraud@db/fw?password=qs-secret&sslmode=require", "qs-secret"),
        ("not a url://user:pw-secret@host", "pw-secret"),
    ],
)
def test_mask_url_hides_passwords(url: str, secret: str) -> None:
    masked = mask_url(url)
    assert secret not in masked
    assert "***" in masked


def test_transient_errors_are_retried_with_a_masked_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = "postgresql+psycopg://fraud:top-secret-pw@db.example.com/fw"
    calls: list[int] = []
    delays: list[float] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        return "done"

    with caplog.at_level(logging.WARNING, logger="fraudwatch.sinks"):
        assert with_retry(flaky, attempts=5, base_delay=0.2, url=url, sleep=delays.append) == "done"
    assert len(calls) == 3
    assert len(delays) == 2 and 0.1 <= delays[0] <= 0.3 and 0.2 <= delays[1] <= 0.6
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "top-secret-pw" not in caplog.text
    assert "fraud:***@db.example.com" in caplog.text


def test_non_transient_errors_are_raised_at_once() -> None:
    for error in (
        IntegrityError("INSERT", {}, Exception("duplicate key")),
        ProgrammingError("SELEC", {}, Exception("syntax error")),
        ValueError("not a database problem"),
    ):
        calls: list[int] = []

        def broken(error: Exception = error, calls: list[int] = calls) -> None:
            calls.append(1)
            raise error

        with pytest.raises(type(error)):
            with_retry(broken, attempts=5, sleep=lambda _: None)
        assert calls == [1]


def test_the_last_transient_failure_propagates() -> None:
    calls: list[int] = []

    def down() -> None:
        calls.append(1)
        raise ConnectionRefusedError("connection refused")

    with pytest.raises(ConnectionRefusedError):
        with_retry(down, attempts=3, sleep=lambda _: None)
    assert len(calls) == 3


def test_sqlite_locks_are_transient_but_missing_tables_are_not(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(OperationalError) as missing, engine.connect() as conn:
        conn.execute(sa.text("SELECT * FROM no_such_table"))
    assert not is_transient(missing.value)
    locked = OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
    assert is_transient(locked)
    engine.dispose()


def test_sqlite_connections_are_tuned_for_bulk_upserts(tmp_path: Path) -> None:
    """WAL, NORMAL sync, a 64 MiB page cache and rare checkpoints on every pooled connection."""
    store = Store(f"sqlite:///{tmp_path / 'tuned.db'}")
    try:
        with store.engine.connect() as first, store.engine.connect() as second:
            for connection in (first, second):
                pragma = connection.exec_driver_sql
                assert pragma("PRAGMA journal_mode").scalar() == "wal"
                assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
                assert pragma("PRAGMA cache_size").scalar() == -65_536
                assert pragma("PRAGMA wal_autocheckpoint").scalar() == 10_000
    finally:
        store.close()
