"""Initial schema: decisions, alerts, labels, dead letters, model versions, checkpoints.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

A frozen copy of ``fraudwatch.sinks.tables`` as it was at this revision (a migration must
not change when the tables module does later).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _timestamp(name: str, *, nullable: bool = False, now: bool = True) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=sa.func.now() if now else None,
        nullable=nullable,
    )


def upgrade() -> None:
    """Create every table and index of the store."""
    op.create_table(
        "decisions",
        sa.Column("trans_num", sa.Text(), nullable=False),
        sa.Column("card_token", sa.Text(), nullable=False),
        sa.Column("masked_pan", sa.Text(), nullable=False),
        sa.Column("event_time", sa.DateTime(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("merchant", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("fraud_probability", sa.Float(), nullable=False),
        sa.Column("risk_level", sa.Text(), nullable=False),
        sa.Column("decision", sa.SmallInteger(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("model_version", sa.Text(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        _timestamp("inserted_at"),
        sa.PrimaryKeyConstraint("trans_num", name=op.f("pk_decisions")),
    )
    op.create_index(op.f("ix_decisions_card_token"), "decisions", ["card_token"])
    op.create_index(op.f("ix_decisions_event_time"), "decisions", ["event_time"])
    op.create_index(op.f("ix_decisions_category"), "decisions", ["category"])

    op.create_table(
        "alerts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("trans_num", sa.Text(), nullable=False),
        _timestamp("created_at"),
        sa.Column("risk_level", sa.Text(), nullable=False),
        sa.Column("fraud_probability", sa.Float(), nullable=False),
        sa.Column("status", sa.Text(), server_default="open", nullable=False),
        sa.Column("channel", sa.Text(), nullable=True),
        _timestamp("delivered_at", nullable=True, now=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("trans_num", name=op.f("uq_alerts_trans_num")),
    )

    op.create_table(
        "labels",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("trans_num", sa.Text(), nullable=False),
        sa.Column("is_fraud", sa.SmallInteger(), nullable=False),
        sa.Column("analyst", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
    )
    op.create_index(op.f("ix_labels_trans_num"), "labels", ["trans_num"])

    op.create_table(
        "dead_letter",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        _timestamp("received_at", now=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letter")),
    )

    op.create_table(
        "model_versions",
        sa.Column("version", sa.Text(), nullable=False),
        _timestamp("created_at"),
        sa.Column("metadata", sa.Text(), nullable=False),
        sa.Column("is_champion", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_model_versions")),
    )

    op.create_table(
        "checkpoints",
        sa.Column("source_id", sa.Text(), nullable=False),
        sa.Column("position", sa.Text(), nullable=False),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("source_id", name=op.f("pk_checkpoints")),
    )


def downgrade() -> None:
    """Drop every table of the store (and its data)."""
    for table in ("checkpoints", "model_versions", "dead_letter", "labels", "alerts"):
        op.drop_table(table)
    for column in ("category", "event_time", "card_token"):
        op.drop_index(op.f(f"ix_decisions_{column}"), table_name="decisions")
    op.drop_table("decisions")
