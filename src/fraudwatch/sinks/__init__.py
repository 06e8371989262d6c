"""Where decisions go: the durable SQL store (SQLite by default, Postgres/Neon in production)."""

from fraudwatch.sinks.database import database_url, mask_url, with_retry
from fraudwatch.sinks.records import DeadLetter, dead_letters
from fraudwatch.sinks.store import Store, upgrade_database

__all__ = [
    "DeadLetter",
    "Store",
    "database_url",
    "dead_letters",
    "mask_url",
    "upgrade_database",
    "with_retry",
]
