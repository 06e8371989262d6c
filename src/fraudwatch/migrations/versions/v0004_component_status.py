"""One status row per component: the heartbeat table every part writes and the dashboard reads.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

``component_status`` holds, per running part of the system (the pipeline of one source,
the scoring API, later workers), its state, the error that stopped it, its stream's clock
and the time of its last heartbeat; see :mod:`fraudwatch.sinks.status`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``component_status``."""
    op.create_table(
        "component_status",
        sa.Column("component", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("stream_time", sa.DateTime(), nullable=True),
        sa.Column("clock_speed", sa.Float(), nullable=True),
        sa.Column("processed", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "heartbeat_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.PrimaryKeyConstraint("component", name="pk_component_status"),
    )


def downgrade() -> None:
    """Drop ``component_status``."""
    op.drop_table("component_status")
