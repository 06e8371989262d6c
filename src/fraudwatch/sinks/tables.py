"""The store's tables (SQLAlchemy Core), the one description the code and migrations share.

The ``decisions`` table mirrors :data:`fraudwatch.decision.DECISION_COLUMNS` plus
``inserted_at`` (a test holds them together); it has a card token and a masked PAN, never
the PAN. Alembic revisions under ``fraudwatch/migrations/versions`` create exactly this
metadata (a test compares them).
"""

from __future__ import annotations

import sqlalchemy as sa

#: Deterministic constraint and index names, so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

#: Integer surrogate key: BIGINT on Postgres, INTEGER (the rowid alias) on SQLite.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _now() -> sa.sql.functions.now:
    return sa.func.now()  # CURRENT_TIMESTAMP on SQLite (UTC), now() on Postgres


decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("trans_num", sa.Text(), primary_key=True),
    sa.Column("card_token", sa.Text(), nullable=False, index=True),
    sa.Column("masked_pan", sa.Text(), nullable=False),
    sa.Column("event_time", sa.DateTime(), nullable=False),  # naive UTC; indexed below
    sa.Column("amount", sa.Float(), nullable=False),
    sa.Column("merchant", sa.Text(), nullable=False),
    sa.Column("category", sa.Text(), nullable=False, index=True),
    sa.Column("state", sa.Text(), nullable=True),
    sa.Column("fraud_probability", sa.Float(), nullable=False),
    sa.Column("risk_level", sa.Text(), nullable=False),
    sa.Column("decision", sa.SmallInteger(), nullable=False),
    sa.Column("threshold", sa.Float(), nullable=False),
    sa.Column("model_version", sa.Text(), nullable=False),
    sa.Column("reasons", sa.Text(), nullable=False),  # JSON list of sentences
    sa.Column("latency_ms", sa.Float(), nullable=False),
    sa.Column("source", sa.Text(), nullable=False),
    # When this row was last written: a replay that rewrites the row refreshes it.
    sa.Column("inserted_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
)

#: Columns the event-time index carries on PostgreSQL (``INCLUDE``): everything the
#: dashboard's overview aggregate and its usual filters read, so that aggregate is an
#: index-only scan of narrow index tuples rather than a scan of the wide rows. SQLite has
#: no ``INCLUDE``; there the index is the plain ``event_time`` one.
EVENT_TIME_INCLUDED: tuple[str, ...] = (
    "category",
    "state",
    "decision",
    "risk_level",
    "amount",
    "fraud_probability",
    "latency_ms",
    "inserted_at",
)
sa.Index(
    "ix_decisions_event_time",
    decisions.c.event_time,
    postgresql_include=list(EVENT_TIME_INCLUDED),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("trans_num", sa.Text(), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
    sa.Column("risk_level", sa.Text(), nullable=False),
    sa.Column("fraud_probability", sa.Float(), nullable=False),
    sa.Column("status", sa.Text(), nullable=False, server_default="open"),
    sa.Column("channel", sa.Text(), nullable=True),
    sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
)

#: Where a label comes from: the issuer's chargebacks and disputes, or an analyst's verdict.
LABEL_SOURCES: tuple[str, ...] = ("chargeback", "analyst")
#: One report: the same report sent twice is one row (``ON CONFLICT DO NOTHING``).
LABEL_REPORT_KEY: tuple[str, ...] = ("trans_num", "source", "is_fraud", "reported_at", "analyst")
_SOURCE_CHECK = "source IN ({})".format(", ".join(f"'{name}'" for name in LABEL_SOURCES))


def _label_columns() -> list[sa.Column[object]]:
    """The columns a label report has, applied or pending."""
    return [
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("trans_num", sa.Text(), nullable=False, index=True),
        sa.Column("is_fraud", sa.SmallInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("analyst", sa.Text(), nullable=False),  # who reported it (issuer, analyst)
        sa.Column("note", sa.Text(), nullable=True),
        # when the issuer or analyst reported it (their clock, UTC)
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
    ]


#: Labels of stored transactions, every source kept; the effective label of a transaction
#: is its newest chargeback if it has one, else its newest analyst verdict.
labels = sa.Table(
    "labels",
    metadata,
    *_label_columns(),
    # the stream (event) time from which the label counts for features: naive UTC, like
    # decisions.event_time; merchant risk learns it for transactions after this time only
    sa.Column("effective_at", sa.DateTime(), nullable=False),
    sa.UniqueConstraint(*LABEL_REPORT_KEY, name="uq_labels_report"),
    sa.CheckConstraint(_SOURCE_CHECK, name="source"),
)

#: Labels whose transaction is not stored yet; moved to ``labels`` when it arrives.
pending_labels = sa.Table(
    "pending_labels",
    metadata,
    *_label_columns(),
    sa.UniqueConstraint(*LABEL_REPORT_KEY, name="uq_pending_labels_report"),
    sa.CheckConstraint(_SOURCE_CHECK, name="source"),
)

dead_letter = sa.Table(
    "dead_letter",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("source", sa.Text(), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("record", sa.Text(), nullable=False),  # JSON of the raw record, card masked
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("version", sa.Text(), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
    sa.Column("metadata", sa.Text(), nullable=False),  # JSON object
    sa.Column("is_champion", sa.Boolean(), nullable=False, server_default=sa.false()),
)

checkpoints = sa.Table(
    "checkpoints",
    metadata,
    sa.Column("source_id", sa.Text(), primary_key=True),
    sa.Column("position", sa.Text(), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
)

#: One row per running part of the system (pipeline, API, workers): what it is doing, how far
#: its stream's clock has got, and when it last said so. Every component writes it through
#: :class:`fraudwatch.sinks.status.Heartbeat`; the dashboard, ``/ready`` and ``fraudwatch
#: status`` read it. A row whose heartbeat is old while it says "running" is a component
#: that died without a word (``kill -9``).
component_status = sa.Table(
    "component_status",
    metadata,
    sa.Column("component", sa.Text(), primary_key=True),  # kind and instance: "pipeline feed:…"
    sa.Column("kind", sa.Text(), nullable=False),  # pipeline | api | feed | worker
    sa.Column("state", sa.Text(), nullable=False),  # running | stopped | finished | failed
    sa.Column("detail", sa.Text(), nullable=True),  # the error or a word on progress, PANs masked
    sa.Column("stream_time", sa.DateTime(), nullable=True),  # newest event time seen (naive UTC)
    sa.Column("clock_speed", sa.Float(), nullable=True),  # stream seconds per wall second
    sa.Column("processed", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
)

#: Every table of the store, in creation order.
TABLE_NAMES: tuple[str, ...] = tuple(metadata.tables)
