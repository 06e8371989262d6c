"""Analyst verdicts: the only thing the dashboard writes.

An analyst marks an alert as confirmed fraud or a false positive, optionally with a note;
the verdict goes to the ``labels`` table with who and when (the database's clock), through
:meth:`fraudwatch.sinks.Store.add_label` (retried on transient errors). Labels are
appended, never updated: a changed mind is a newer label, and the newest one counts.
"""

from __future__ import annotations

from enum import Enum

import sqlalchemy as sa

from fraudwatch.dashboard.source import Reader
from fraudwatch.privacy import redact_pans
from fraudwatch.sinks import tables

MAX_NOTE_LENGTH = 2_000
MAX_ANALYST_LENGTH = 200


class Verdict(Enum):
    """What an analyst concluded about an alert."""

    CONFIRMED_FRAUD = "confirmed fraud"
    FALSE_POSITIVE = "false positive"

    @property
    def is_fraud(self) -> bool:
        """The label stored in ``labels.is_fraud``."""
        return self is Verdict.CONFIRMED_FRAUD


class LabelError(ValueError):
    """A verdict that cannot be stored as given (the message says why, for the analyst)."""


def record_verdict(
    reader: Reader, trans_num: str, verdict: Verdict, analyst: str, note: str | None = None
) -> None:
    """Store an analyst's verdict on a stored transaction; LabelError when it cannot be."""
    analyst = analyst.strip()
    if not analyst:
        raise LabelError("enter your name before labelling, so the verdict says who made it")
    if len(analyst) > MAX_ANALYST_LENGTH:
        raise LabelError(f"the analyst name is longer than {MAX_ANALYST_LENGTH} characters")
    cleaned = (note or "").strip()
    if len(cleaned) > MAX_NOTE_LENGTH:
        raise LabelError(f"the note is longer than {MAX_NOTE_LENGTH:,} characters")
    exists = sa.select(sa.literal(1)).where(tables.decisions.c.trans_num == trans_num)
    if reader.run(lambda conn: conn.execute(exists).first(), "find transaction") is None:
        raise LabelError(f"transaction {trans_num} is not in the database")
    # A note is free text: a pasted card number must not reach the database.
    reader.store.add_label(trans_num, verdict.is_fraud, analyst, redact_pans(cleaned) or None)
