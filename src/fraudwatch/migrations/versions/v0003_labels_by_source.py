"""Labels by source (chargeback, analyst), with report and effect times, and pending labels.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

``labels`` gains ``source`` (``chargeback`` or ``analyst``), ``reported_at`` (when the issuer
or analyst reported it) and ``effective_at`` (the stream's event time from which the label
counts for features), a unique report key (the same report twice is one row) and a check
on ``source``. Existing rows are analyst verdicts: ``source = 'analyst'``, ``reported_at =
created_at``, and ``effective_at`` = the newest stored event time (they were never fed to
the features before, so they take effect from now on), or their ``created_at`` when no
decision is stored. Rows identical in transaction, verdict, analyst and time (a double
click within the same second on SQLite) would break the report key: only the newest of
them is kept.

``pending_labels`` holds labels whose transaction is not stored yet.

A frozen copy of the tables as they are at this revision (``fraudwatch.sinks.tables`` may
change later).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_REPORT_KEY = ["trans_num", "source", "is_fraud", "reported_at", "analyst"]
_SOURCE_CHECK = "source IN ('chargeback', 'analyst')"


def upgrade() -> None:
    """Extend ``labels`` (existing rows become analyst verdicts) and add ``pending_labels``."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("labels") as batch:
        batch.add_column(sa.Column("source", sa.Text(), nullable=True))
        batch.add_column(sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("effective_at", sa.DateTime(), nullable=True))
    created = "created_at AT TIME ZONE 'UTC'" if postgresql else "created_at"
    op.execute(
        "UPDATE labels SET source = 'analyst', reported_at = created_at, "
        f"effective_at = COALESCE((SELECT max(event_time) FROM decisions), {created})"
    )
    op.execute(
        "DELETE FROM labels WHERE EXISTS (SELECT 1 FROM labels AS newer "
        "WHERE newer.trans_num = labels.trans_num AND newer.is_fraud = labels.is_fraud "
        "AND newer.analyst = labels.analyst AND newer.created_at = labels.created_at "
        "AND newer.id > labels.id)"
    )
    with op.batch_alter_table("labels") as batch:
        batch.alter_column("source", existing_type=sa.Text(), nullable=False)
        batch.alter_column("reported_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.alter_column("effective_at", existing_type=sa.DateTime(), nullable=False)
        batch.create_unique_constraint(op.f("uq_labels_report"), _REPORT_KEY)
        batch.create_check_constraint(op.f("ck_labels_source"), _SOURCE_CHECK)

    op.create_table(
        "pending_labels",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("trans_num", sa.Text(), nullable=False),
        sa.Column("is_fraud", sa.SmallInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("analyst", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_labels")),
        sa.UniqueConstraint(*_REPORT_KEY, name="uq_pending_labels_report"),
        sa.CheckConstraint(_SOURCE_CHECK, name=op.f("ck_pending_labels_source")),
    )
    op.create_index(op.f("ix_pending_labels_trans_num"), "pending_labels", ["trans_num"])


def downgrade() -> None:
    """Back to analyst-only labels: pending labels and the new columns are dropped."""
    op.drop_index(op.f("ix_pending_labels_trans_num"), table_name="pending_labels")
    op.drop_table("pending_labels")
    with op.batch_alter_table("labels") as batch:
        batch.drop_constraint(op.f("ck_labels_source"), type_="check")
        batch.drop_constraint(op.f("uq_labels_report"), type_="unique")
        batch.drop_column("effective_at")
        batch.drop_column("reported_at")
        batch.drop_column("source")
