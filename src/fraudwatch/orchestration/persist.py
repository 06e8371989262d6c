"""Storing a run and reporting its alerts: one database transaction, then the card state.

Decisions, their alerts, the dead letters and the checkpoint (the position after the run)
are written by ONE :meth:`Store.write_batch`, so the checkpoint never runs ahead of the
data; only then does the run's feature snapshot become current. Running the task again
stores nothing twice: decisions are upserted by ``trans_num``, alerts are unique per
transaction, and a checkpoint already at the run's end means its dead letters are in.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pandas as pd

from fraudwatch.decision import DECISION_COLUMNS
from fraudwatch.errors import FraudwatchError
from fraudwatch.orchestration import staging
from fraudwatch.orchestration.staging import RunBatch
from fraudwatch.pipeline.snapshots import install_snapshot, state_file
from fraudwatch.sinks.store import Store

log = logging.getLogger(__name__)


class CheckpointMovedError(FraudwatchError, RuntimeError):
    """Someone else moved the source's checkpoint while this run was working."""


def store_run(store: Store, batch: RunBatch, state_dir: Path) -> RunBatch:
    """Write the run's decisions, alerts, dead letters and checkpoint together; idempotent."""
    decisions = staging.read_decisions(batch.path)
    letters = staging.read_dead_letters(batch.path)
    start, end = int(batch.start), int(batch.end)
    stored = store.checkpoint(batch.source_id)
    current = 0 if stored is None else int(stored)
    if not start <= current <= end:
        raise CheckpointMovedError(
            f"the checkpoint of {batch.source_id} is at {current}, outside this run's range "
            f"{start}..{end}: another writer (a second DAG run, `fraudwatch run` on the same "
            "feed?) moved it. Nothing stored; the next run continues from the checkpoint."
        )
    if current == end and stored is not None:
        letters = []  # this range was committed before (a retry): its dead letters are in
    checkpoint = (batch.source_id, batch.end) if stored is None or current != end else None
    frame = decisions if decisions is not None else pd.DataFrame(columns=list(DECISION_COLUMNS))
    written = store.write_batch(frame, letters, checkpoint)
    installed = install_snapshot(
        batch.path / staging.SNAPSHOT_FILE, state_file(state_dir, batch.source_id)
    )
    log.info(
        "stored %d decisions, %d dead letters; checkpoint of %s at %s%s",
        written,
        len(letters),
        batch.source_id,
        batch.end,
        "; card state saved" if installed else "",
    )
    return replace(batch, stored=written, dead_letters=len(letters))


def report_alerts(batch: RunBatch, *, limit: int = 20) -> RunBatch:
    """Log the run's flagged transactions (their alerts rows are already stored); clean up."""
    decisions = staging.read_decisions(batch.path)
    flagged = decisions[decisions["decision"] == 1] if decisions is not None else pd.DataFrame()
    for row in flagged.head(limit).itertuples(index=False):
        log.warning(
            "ALERT %s card %s: %.2f at %s (%s), probability %.3f, %s; %s",
            row.trans_num,
            row.masked_pan,
            row.amount,
            row.merchant,
            row.category,
            row.fraud_probability,
            row.risk_level,
            row.reasons,
        )
    if len(flagged) > limit:
        log.warning("... and %d more alerts (see the alerts table)", len(flagged) - limit)
    log.info(
        "run summary: fetched %d, valid %d, rejected %d, scored %d, flagged %d, stored %d",
        batch.fetched,
        batch.valid,
        batch.rejected,
        batch.scored,
        len(flagged),
        batch.stored,
    )
    staging.remove(batch.path)
    return replace(batch, flagged=len(flagged))
