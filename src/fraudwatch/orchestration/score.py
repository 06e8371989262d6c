"""Scoring a run's staged transactions: in-process with the card state of earlier runs, or the API.

In-process, the transactions go through :meth:`ScoringService.score_prepared
<fraudwatch.pipeline.service.ScoringService.score_prepared>` — the path of ``fraudwatch
run`` and the API after their prepare step: same lock, stream clock, card state (Redis when
configured) and decision rule. The feature state continues the snapshot the run started
from (when the fetch found one consistent with the checkpoint), and the state after the
run is staged beside the decisions; the store task makes it current once the decisions
are committed. Through the API, the API's own service holds model and card state.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fraudwatch.decision import make_decisions
from fraudwatch.orchestration import staging
from fraudwatch.orchestration.remote import ScoringApiClient, ScoringApiError
from fraudwatch.orchestration.staging import RunBatch
from fraudwatch.pipeline.service import ScoringService
from fraudwatch.pipeline.snapshots import snapshot_at, state_file, write_snapshot
from fraudwatch.sinks.records import DeadLetter, dead_letters

log = logging.getLogger(__name__)

#: ``source`` of the decisions the DAG stores: the same as ``fraudwatch run`` on a feed URL.
SOURCE = "feed"


def decisions_from_api(
    transactions: pd.DataFrame,
    results: Sequence[Mapping[str, Any]],
    received_at: Any,
    *,
    source: str,
) -> pd.DataFrame:
    """Decision rows from the API's answers (one per staged transaction, in the same order)."""
    ours = transactions["trans_num"].astype(str).tolist()
    theirs = [str(result["trans_num"]) for result in results]
    if ours != theirs:
        raise ScoringApiError("the scoring API answered for other transactions than were sent")
    scores = pd.DataFrame(
        {
            "fraud_probability": [float(r["fraud_probability"]) for r in results],
            "risk_level": [str(r["risk_level"]) for r in results],
            "decision": [int(r["decision"]) for r in results],
            "top_reasons": ["; ".join(r.get("top_reasons") or []) for r in results],
        }
    )
    received = np.broadcast_to(np.asarray(received_at, dtype=np.float64), len(transactions))
    decisions = make_decisions(
        transactions.reset_index(drop=True), scores,
        model_version=str(results[0]["model_version"]) if results else "unknown",
        threshold=float(results[0]["threshold"]) if results else 0.0,
        received_at=received, source=source,
    )  # fmt: skip
    decisions["model_version"] = np.array([str(r["model_version"]) for r in results], dtype=object)
    decisions["threshold"] = np.array([float(r["threshold"]) for r in results])
    return decisions


def score_run(
    batch: RunBatch,
    *,
    service: ScoringService | None,
    state_dir: Path,
    api: ScoringApiClient | None = None,
) -> RunBatch:
    """Score the run's staged transactions and stage the decisions (and the new card state)."""
    transactions, received = staging.read_transactions(batch.path)
    if not len(transactions):
        log.info("nothing to score: no new valid transaction in this run")
        return replace(batch, scored=0, flagged=0)
    if api is not None:
        records = staging.take_api_records(batch.path)
        decisions = decisions_from_api(transactions, api.score(records), received, source=SOURCE)
        how = f"through the scoring API at {api.url}"
    elif service is not None:
        decisions, refused = _score_here(service, batch, state_dir, transactions, received)
        if refused:
            staging.write_dead_letters(
                batch.path, [*staging.read_dead_letters(batch.path), *refused]
            )
            batch = replace(batch, rejected=batch.rejected + len(refused))
        how = f"with model {service.model_version} ({'warm' if batch.warm else 'cold'} card state)"
    else:
        raise ValueError("score_run needs a scoring service or a scoring API client")
    staging.write_decisions(batch.path, decisions)
    flagged = int(decisions["decision"].sum())
    log.info("scored %d transactions %s: %d flagged", len(decisions), how, flagged)
    return replace(batch, scored=len(decisions), flagged=flagged)


def _score_here(
    service: ScoringService,
    batch: RunBatch,
    state_dir: Path,
    transactions: pd.DataFrame,
    received: Any,
) -> tuple[pd.DataFrame, list[DeadLetter]]:
    """Score in this process: the service's own path (lock, stream clock, Redis card state).

    With the card state in this process, the run continues the snapshot it started from
    (when warm) and stages the state after it; with the card state in Redis, Redis holds
    it and no file is kept. Records the stream clock refuses become dead letters, as in
    ``fraudwatch run``.
    """
    in_process = service.shared is None
    if in_process and batch.warm:
        service.restore(snapshot_at(state_file(state_dir, batch.source_id), batch.start))
    scored = service.score_prepared(transactions, source=SOURCE, received_at=received)
    if in_process:
        write_snapshot(batch.path / staging.SNAPSHOT_FILE, batch.end, service)
    if scored.rejected:
        log.warning(
            "%d transaction(s) refused by the stream clock go to the dead letters",
            len(scored.rejected),
        )
    return scored.decisions, dead_letters(scored.rejected, batch.source_id)
