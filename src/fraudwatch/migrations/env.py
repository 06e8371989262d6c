"""Alembic environment: migrate the connection fraudwatch hands over, else the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from fraudwatch.sinks.tables import metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = context.config.attributes.get("url")
    if url:
        return str(url)
    from fraudwatch.config import get_settings
    from fraudwatch.sinks.database import database_url

    settings = get_settings()
    return database_url(settings.database_url, settings.data_dir)


def run_migrations_offline() -> None:
    """Emit the SQL of the migrations instead of running it (``alembic upgrade --sql``)."""
    context.configure(
        url=_url(), target_metadata=metadata, literal_binds=True, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the given connection, or on a new one to the configured URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    from fraudwatch.sinks.database import create_engine

    engine = create_engine(_url())
    try:
        with engine.begin() as new_connection:
            _configure_and_run(new_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
