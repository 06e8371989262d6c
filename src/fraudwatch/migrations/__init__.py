"""Alembic migrations of the store, configured in code (no ``alembic.ini``).

The migrations live inside the package (not in a top-level ``migrations/`` folder) so that
an installed fraudwatch (a wheel, a container image without the source tree) carries the
migrations its code expects and ``fraudwatch db upgrade`` works anywhere.
:func:`alembic_config` points Alembic at this folder; ``env.py`` migrates the connection
handed over in ``config.attributes["connection"]``.

A new revision after changing ``fraudwatch.sinks.tables`` (review it, and keep it frozen:
no imports from ``tables``)::

    from alembic import command
    from fraudwatch.migrations import alembic_config
    command.revision(alembic_config(url="sqlite:///data/fraudwatch.db"), "what changed",
                     autogenerate=True)

``command.check(alembic_config(url=...))`` tells whether code and database agree.
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from sqlalchemy.engine import Connection

#: Folder holding ``env.py``, ``script.py.mako`` and ``versions/``.
SCRIPT_LOCATION = Path(__file__).resolve().parent


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic configuration for this package's migrations, on a connection or a URL.

    With a connection, migrations run inside the caller's transaction; a URL is only used
    by offline (``--sql``) generation and the Alembic command line.
    """
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("path_separator", "os")
    # revision files are modules mypy checks: give them names that are identifiers
    config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
    if connection is not None:
        config.attributes["connection"] = connection
    if url is not None:
        config.attributes["url"] = url  # not set_main_option: '%' in passwords breaks it
    return config
