"""Analyst verdicts: the only thing the dashboard writes.

An analyst marks an alert as confirmed fraud or a false positive, optionally with a note;
the verdict goes to the ``labels`` table with who and when (the database's clock), through
:meth:`fraudwatch.sinks.Store.add_label` (retried on transient errors). Labels are
appended, never updated: a changed mind is a newer label, and the newest one counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

import sqlalchemy as sa

from fraudwatch.dashboard.source import Reader
from fraudwatch.errors import FraudwatchError
from fraudwatch.privacy import redact_pans
from fraudwatch.sinks import tables

MAX_NOTE_LENGTH = 2_000
MAX_ANALYST_LENGTH = 200
#: The most alerts one bulk verdict may label (the largest table page).
MAX_BULK = 500


class Verdict(Enum):
    """What an analyst concluded about an alert."""

    CONFIRMED_FRAUD = "confirmed fraud"
    FALSE_POSITIVE = "false positive"

    @property
    def is_fraud(self) -> bool:
        """The label stored in ``labels.is_fraud``."""
        return self is Verdict.CONFIRMED_FRAUD


class LabelError(FraudwatchError, ValueError):
    """A verdict that cannot be stored as given (the message says why, for the analyst)."""


def record_verdict(
    reader: Reader, trans_num: str, verdict: Verdict, analyst: str, note: str | None = None
) -> None:
    """Store an analyst's verdict on a stored transaction; LabelError when it cannot be."""
    record_verdicts(reader, [trans_num], verdict, analyst, note)


def record_verdicts(
    reader: Reader,
    trans_nums: Sequence[str],
    verdict: Verdict,
    analyst: str,
    note: str | None = None,
) -> int:
    """One verdict, analyst and note for several stored transactions (bulk labelling of an
    alert queue); all are checked before any is written. Returns how many were labelled."""
    analyst = analyst.strip()
    if not analyst:
        raise LabelError("enter your name before labelling, so the verdict says who made it")
    if len(analyst) > MAX_ANALYST_LENGTH:
        raise LabelError(f"the analyst name is longer than {MAX_ANALYST_LENGTH} characters")
    cleaned = (note or "").strip()
    if len(cleaned) > MAX_NOTE_LENGTH:
        raise LabelError(f"the note is longer than {MAX_NOTE_LENGTH:,} characters")
    wanted = list(dict.fromkeys(trans_nums))  # each once, in the order given
    if not wanted:
        raise LabelError("select at least one alert to label")
    if len(wanted) > MAX_BULK:
        raise LabelError(f"label at most {MAX_BULK:,} alerts at once")
    d = tables.decisions.c
    exists = sa.select(d.trans_num).where(d.trans_num.in_(wanted))
    found = set(reader.run(lambda conn: conn.execute(exists).scalars().all(), "find transactions"))
    missing = [trans_num for trans_num in wanted if trans_num not in found]
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        if len(missing) == 1:
            raise LabelError(f"transaction {shown} is not in the database")
        raise LabelError(f"transactions {shown} are not in the database")
    # A note is free text: a pasted card number must not reach the database.
    stored_note = redact_pans(cleaned) or None
    for trans_num in wanted:
        reader.store.add_label(trans_num, verdict.is_fraud, analyst, stored_note)
    return len(wanted)
