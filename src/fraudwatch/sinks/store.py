"""The durable store: decisions, alerts, dead letters, labels, model versions, checkpoints.

One :class:`Store` over SQLite (the embedded default) or Postgres/Neon. The pipeline hands
it one batch at a time; :meth:`Store.write_batch` writes the batch's decisions, alerts,
dead letters and the source checkpoint in ONE transaction, so after a crash the checkpoint
never runs ahead of the data (replaying from it rewrites rows instead of duplicating them:
decisions are upserted by ``trans_num``, alerts are unique per ``trans_num``). Every public
operation is a whole unit of work, repeated on transient errors by
:func:`~fraudwatch.sinks.database.with_retry`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, TypeVar

import pandas as pd
import sqlalchemy as sa
from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from fraudwatch.config import Settings, get_settings
from fraudwatch.migrations import alembic_config
from fraudwatch.monitoring import LiveFigures
from fraudwatch.sinks import bulk, neon, tables
from fraudwatch.sinks import labels as label_rows
from fraudwatch.sinks.database import (
    backend_name,
    create_engine,
    database_url,
    mask_url,
    normalise_url,
    sqlite_file,
    with_retry,
)
from fraudwatch.sinks.labels import LabelCursor, LabelOutcome
from fraudwatch.sinks.records import DeadLetter, dead_letters, decision_columns
from fraudwatch.sinks.wal import WalCheckpointer
from fraudwatch.sources.labels import LabelReport

__all__ = [  # the store's public face; the records and URL helpers are re-exported here
    "DeadLetter",
    "Store",
    "database_url",
    "dead_letters",
    "mask_url",
    "upgrade_database",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
PING_TIMEOUT_S = 3
#: Key of the Postgres advisory lock that serialises concurrent ``upgrade()`` calls.
_MIGRATION_LOCK = 0x66726175_64776174  # "fraudwat"


class Store:
    """Durable storage of everything the pipeline decides, on SQLite or Postgres."""

    def __init__(
        self, url: str, *, retry_attempts: int = 5, migration_url: str | None = None
    ) -> None:
        self.url = normalise_url(url)
        # schema changes go over a direct connection (a Neon pooled URL's direct twin)
        self.migration_url = normalise_url(neon.migration_url(self.url, migration_url))
        backend = backend_name(self.url)
        if backend not in SUPPORTED_BACKENDS:
            raise ValueError(
                f"fraudwatch stores data in SQLite or PostgreSQL, not {backend} "
                f"({mask_url(self.url)})"
            )
        self.backend = backend
        self.retry_attempts = retry_attempts
        self.engine: Engine = create_engine(self.url)
        self._times_as_text = bulk.times_as_text(self.engine.dialect)
        self._ping_engine: Engine | None = None
        self._wal_file = sqlite_file(self.url) if backend == "sqlite" else None
        self._wal: WalCheckpointer | None = None  # started by the first write

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Store:
        """The store the settings point at (``FRAUDWATCH_DATABASE_URL``, else SQLite)."""
        settings = settings or get_settings()
        return cls(
            database_url(settings.database_url, settings.data_dir),
            migration_url=settings.direct_database_url if settings.database_url else None,
        )

    @property
    def masked_url(self) -> str:
        """The URL for logs and messages, password hidden."""
        return mask_url(self.url)

    def __repr__(self) -> str:
        return f"Store({self.masked_url!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def retrying(self, fn: Callable[[], T], what: str) -> T:
        """Run one unit of work on this store, repeated on transient errors."""
        return self._retry(fn, what)

    def _retry(self, fn: Callable[[], T], what: str) -> T:
        return with_retry(fn, attempts=self.retry_attempts, url=self.url, what=what)

    def upgrade(self) -> None:
        """Bring the schema to the newest revision (Alembic ``upgrade head``); idempotent.

        It runs over :attr:`migration_url`: a Neon pooled URL's direct twin, or the
        configured ``FRAUDWATCH_DIRECT_DATABASE_URL``; otherwise the store's own engine.
        """
        direct = self.migration_url != self.url
        engine = create_engine(self.migration_url) if direct else self.engine

        def unit() -> None:
            with engine.begin() as conn:
                if self.backend == "postgresql":  # two processes starting at once take turns
                    conn.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
                    )
                command.upgrade(alembic_config(conn), "head")

        try:
            what = "schema upgrade" + (" (direct connection)" if direct else "")
            with_retry(unit, attempts=self.retry_attempts, url=self.migration_url, what=what)
        finally:
            if direct:
                engine.dispose()
        log.info("database %s is at revision %s", self.masked_url, self.revision())

    def revision(self) -> str | None:
        """The schema revision the database is at (None before the first upgrade)."""

        def unit() -> str | None:
            with self.engine.connect() as conn:
                return MigrationContext.configure(conn).get_current_revision()

        return self._retry(unit, "read schema revision")

    @staticmethod
    def head_revision() -> str | None:
        """The newest revision this version of fraudwatch knows."""
        return ScriptDirectory.from_config(alembic_config()).get_current_head()

    def ping(self) -> bool:
        """Whether the database answers ``SELECT 1`` within a few seconds; never raises."""
        if self._ping_engine is None:
            connect_args: dict[str, Any] = {}
            if self.backend == "postgresql":
                connect_args["connect_timeout"] = PING_TIMEOUT_S
            else:
                connect_args["timeout"] = PING_TIMEOUT_S
            self._ping_engine = sa.create_engine(
                self.url, poolclass=NullPool, connect_args=connect_args
            )
        try:
            with self._ping_engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception as error:
            log.warning("database %s does not answer: %s", self.masked_url, type(error).__name__)
            return False
        return True

    def write_batch(
        self,
        decisions: pd.DataFrame,
        rejected: Sequence[DeadLetter] = (),
        checkpoint: tuple[str, str] | None = None,
    ) -> int:
        """Write a batch's decisions, alerts, dead letters and checkpoint in one transaction.

        Decisions are upserted by ``trans_num`` (replaying a batch never duplicates; the
        later write wins), decisions with ``decision == 1`` get an alert (once per
        ``trans_num``), and ``checkpoint=(source_id, position)`` moves only if everything
        else is written. Returns the number of decisions written.
        """
        columns = decision_columns(decisions, times_as_text=self._times_as_text)
        written = len(columns["trans_num"])
        letters = [letter.as_row() for letter in rejected]
        if not written and not letters and checkpoint is None:
            return 0
        if self._wal is None and self._wal_file is not None:
            self._wal = WalCheckpointer(self._wal_file)  # keeps WAL checkpoints off commits

        def unit() -> None:
            with self.engine.begin() as conn:
                bulk.write_decisions(conn, columns)
                bulk.insert_dead_letters(conn, letters)
                if checkpoint is not None:
                    bulk.upsert_checkpoint(conn, *checkpoint)

        self._retry(unit, "write batch")
        return written

    def checkpoint(self, source_id: str) -> str | None:
        """The last position committed for a source, or None if it never wrote one."""
        query = sa.select(tables.checkpoints.c.position).where(
            tables.checkpoints.c.source_id == source_id
        )

        def unit() -> str | None:
            with self.engine.connect() as conn:
                return conn.execute(query).scalar_one_or_none()

        return self._retry(unit, "read checkpoint")

    def record_model_version(
        self, version: str, metadata: dict[str, Any], champion: bool = False
    ) -> None:
        """Register (or update) a model version; ``champion=True`` makes it the only champion.

        ``champion=False`` leaves an existing version's flag alone, so re-registering the
        running model at start-up never demotes it; promoting another version does.
        """
        table = tables.model_versions
        text = json.dumps(metadata, sort_keys=True, default=str)

        def unit() -> None:
            with self.engine.begin() as conn:
                if champion:
                    conn.execute(
                        table.update()
                        .where(table.c.version != version, table.c.is_champion)
                        .values(is_champion=False)
                    )
                insert = bulk.dialect_insert(conn, table).values(
                    version=version, metadata=text, is_champion=champion
                )
                updates: dict[str, Any] = {"metadata": text}
                if champion:
                    updates["is_champion"] = True
                conn.execute(insert.on_conflict_do_update(index_elements=["version"], set_=updates))

        self._retry(unit, "record model version")

    def add_label(
        self, trans_num: str, is_fraud: bool, analyst: str, note: str | None = None
    ) -> LabelOutcome:
        """Record an analyst's verdict on a transaction (every verdict is kept).

        Reported now (this machine's clock, UTC); see :meth:`add_labels`.
        """
        report = LabelReport(
            trans_num=trans_num,
            label=int(is_fraud),
            reported_at=datetime.now(UTC),
            source="analyst",
            reported_by=analyst,
            note=note,
        )
        return self.add_labels([report])

    def add_labels(
        self, reports: Sequence[LabelReport], effective_at: datetime | None = None
    ) -> LabelOutcome:
        """Store label reports in one transaction; the same report twice is stored once.

        A report of a stored transaction becomes a label effective from ``effective_at``
        (default: the newest event time stored); any other waits in ``pending_labels`` until
        :meth:`apply_pending_labels` finds its transaction.
        """
        if not reports:
            return LabelOutcome(0, 0, 0, 0)

        def unit() -> LabelOutcome:
            with self.engine.begin() as conn:
                return label_rows.add_labels(conn, reports, effective_at)

        return self._retry(unit, "add labels")

    def apply_pending_labels(self, effective_at: datetime | None = None) -> int:
        """Turn pending labels whose transaction is now stored into labels; returns how many.

        Cheap when nothing is pending (one join on an empty table): the pipeline calls it
        after its writes. The labels take effect at ``effective_at`` (default: the newest
        event time stored).
        """

        def unit() -> int:
            with self.engine.begin() as conn:
                return label_rows.apply_pending(conn, effective_at)

        return self._retry(unit, "apply pending labels")

    def labels_for_features(
        self, after: LabelCursor | None, until: datetime, limit: int = 10_000
    ) -> tuple[pd.DataFrame, LabelCursor | None]:
        """Labels merchant risk has not learnt, effective up to ``until``, and the next cursor."""

        def unit() -> tuple[pd.DataFrame, LabelCursor | None]:
            with self.engine.connect() as conn:
                return label_rows.labels_for_features(conn, after, until, limit)

        return self._retry(unit, "read labels for features")

    def next_label_effective_at(self, after: datetime) -> datetime | None:
        """The earliest label ``effective_at`` later than ``after`` (None: no such label)."""

        def unit() -> datetime | None:
            with self.engine.connect() as conn:
                return label_rows.next_effective_at(conn, after)

        return self._retry(unit, "read next label time")

    def newest_label_id(self) -> int:
        """The highest label id (0 for none): cheap, to tell whether labels were added."""

        def unit() -> int:
            with self.engine.connect() as conn:
                return label_rows.newest_label_id(conn)

        return self._retry(unit, "read newest label id")

    def restamp_labels(self, label_ids: list[int], effective_at: datetime) -> None:
        """Record the stream time at which these labels really took effect (later only)."""

        def unit() -> None:
            with self.engine.begin() as conn:
                label_rows.restamp(conn, label_ids, effective_at)

        self._retry(unit, "restamp labels")

    def live_figures(
        self,
        window: timedelta,
        *,
        label_delay_ms: int,
        validation_flag_rate: float,
        clock: datetime | None = None,
    ) -> LiveFigures | None:
        """Flag rate, live precision and recall over the last ``window`` of stream time."""

        def unit() -> LiveFigures | None:
            with self.engine.connect() as conn:
                return label_rows.live_window_figures(
                    conn, window, label_delay_ms=label_delay_ms,
                    validation_flag_rate=validation_flag_rate, clock=clock,
                )  # fmt: skip

        return self._retry(unit, "compute live figures")

    def count(self, table: str) -> int:
        """Rows in one of the store's tables."""
        if table not in tables.metadata.tables:
            raise ValueError(f"unknown table {table!r}; known: {', '.join(tables.TABLE_NAMES)}")
        query = sa.select(sa.func.count()).select_from(tables.metadata.tables[table])

        def unit() -> int:
            with self.engine.connect() as conn:
                return int(conn.execute(query).scalar_one())

        return self._retry(unit, f"count {table}")

    def close(self) -> None:
        """Close every pooled connection (and stop the WAL checkpoints of a SQLite file)."""
        if self._wal is not None:
            self._wal.close()
            self._wal = None
        self.engine.dispose()
        if self._ping_engine is not None:
            self._ping_engine.dispose()


def upgrade_database(url: str | None) -> str:
    """Migrate the given database (default: the configured one) to head; returns its masked URL."""
    settings = get_settings()
    store = (
        Store.from_settings(settings)
        if url is None
        else Store(database_url(url, settings.data_dir))
    )
    try:
        store.upgrade()
    finally:
        store.close()
    return store.masked_url
