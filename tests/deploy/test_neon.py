"""Neon recipe: connection strings as Neon prints them, pooled vs direct, TLS, engine settings.

No Neon account is reachable here: the URL handling is checked on Neon-shaped strings, and
"migrations go over the direct URL" against the real local PostgreSQL server.
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from fraudwatch.config import Settings, get_settings
from fraudwatch.sinks import Store
from fraudwatch.sinks.database import POOL_RECYCLE_S, create_engine, postgres_connect_args
from fraudwatch.sinks.neon import direct_url, is_neon, is_pooled, migration_url

POOLED = (
    "postgresql://fraud_owner:npg_s3cret@ep-cool-darkness-a1b2c3d4-pooler.eu-central-1.aws"
    ".neon.tech/neondb?sslmode=require&channel_binding=require"
)
DIRECT = POOLED.replace("-pooler.", ".")


def test_pooled_neon_urls_have_a_direct_twin_for_migrations() -> None:
    assert is_neon(POOLED) and is_pooled(POOLED)
    assert not is_pooled(DIRECT)
    assert direct_url(POOLED) == DIRECT  # password, database and query kept
    assert direct_url(DIRECT) == DIRECT
    local = "postgresql://u:p@db.example.com:5432/fw"
    assert not is_neon(local) and direct_url(local) == local
    assert migration_url(POOLED) == DIRECT
    assert migration_url(POOLED, "postgresql://admin:x@elsewhere/neondb") == (
        "postgresql://admin:x@elsewhere/neondb"
    )


def test_neon_gets_tls_and_the_settings_for_a_compute_that_suspends() -> None:
    no_ssl = "postgresql+psycopg://u:p@ep-x-123.us-east-2.aws.neon.tech/neondb"
    args = postgres_connect_args(no_ssl)
    assert args["sslmode"] == "require"  # Neon refuses plain connections
    assert (args["keepalives"], args["connect_timeout"]) == (1, 10)
    assert "sslmode" not in postgres_connect_args("postgresql+psycopg://u:p@localhost/fw")
    given = postgres_connect_args(no_ssl + "?sslmode=verify-full")
    assert "sslmode" not in given  # the URL's own sslmode wins
    engine = create_engine(no_ssl)
    try:
        assert engine.pool._pre_ping  # a connection the suspended compute dropped is replaced
        assert engine.pool._recycle == POOL_RECYCLE_S
    finally:
        engine.dispose()


def test_neon_strings_configure_the_store_as_pasted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEON_DB_URI", POOLED)
    get_settings.cache_clear()
    store = Store.from_settings(Settings())
    try:
        assert make_url(store.url).drivername == "postgresql+psycopg"
        assert (
            make_url(store.url).host
            == "ep-cool-darkness-a1b2c3d4-pooler.eu-central-1.aws.neon.tech"
        )
        assert (
            make_url(store.migration_url).host
            == "ep-cool-darkness-a1b2c3d4.eu-central-1.aws.neon.tech"
        )
        assert "npg_s3cret" not in store.masked_url
    finally:
        store.close()
    monkeypatch.setenv("FRAUDWATCH_DIRECT_DATABASE_URL", "postgres://admin:x@ep-other.neon.tech/db")
    store = Store.from_settings(Settings())
    try:
        assert make_url(store.migration_url).host == "ep-other.neon.tech"
    finally:
        store.close()


@pytest.mark.integration
def test_migrations_run_over_the_direct_url(request: pytest.FixtureRequest) -> None:
    from tests.conftest import _postgres_schema

    # two schemas of the real server stand for the pooled and the direct endpoint
    with _postgres_schema(request) as pooled, _postgres_schema(request) as direct:
        store = Store(pooled, migration_url=direct)
        try:
            store.upgrade()
            assert store.revision() is None  # nothing was migrated through the pooled URL
        finally:
            store.close()
        check = Store(direct)
        try:
            assert check.revision() == Store.head_revision()
        finally:
            check.close()
        # and a broken direct URL fails the upgrade even though the store's URL works
        unreachable = make_url(direct).set(port=1).render_as_string(hide_password=False)
        broken = Store(pooled, migration_url=unreachable, retry_attempts=1)
        try:
            with pytest.raises(OperationalError):
                broken.upgrade()
        finally:
            broken.close()
