"""Scoring a run's staged transactions: in-process with the card state of earlier runs, or the API.

In-process, the model is loaded, the feature state continues the snapshot the run started
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

from fraudwatch.orchestration import staging
from fraudwatch.orchestration.remote import ScoringApiClient, ScoringApiError
from fraudwatch.orchestration.staging import RunBatch
from fraudwatch.orchestration.state import load_engine, state_file, write_snapshot
from fraudwatch.pipeline.decision import make_decisions
from fraudwatch.pipeline.service import ScoringService
from fraudwatch.schema import LABEL_COLUMN, SCENARIO_COLUMN

log = logging.getLogger(__name__)

#: ``source`` of the decisions the DAG stores: the same as ``fraudwatch run`` on a feed URL.
SOURCE = "feed"


def decide_prepared(
    service: ScoringService, transactions: pd.DataFrame, received_at: Any, *, source: str
) -> pd.DataFrame:
    """Decisions for prepared (validated, tokenized) transactions: the steps of
    :meth:`ScoringService.score` after its prepare step, in event-time order."""
    order = np.argsort(transactions["event_time"].to_numpy(), kind="stable")
    ordered = transactions.iloc[order].drop(
        columns=[LABEL_COLUMN, SCENARIO_COLUMN], errors="ignore"
    )
    received = np.broadcast_to(np.asarray(received_at, dtype=np.float64), len(transactions))
    features = service.engine.transform_many(ordered)
    service.scored += len(ordered)
    scores = service.scorer.score(features)
    return make_decisions(
        ordered, scores, model_version=service.model_version, threshold=service.threshold,
        received_at=received[order], source=source,
    )  # fmt: skip


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
        if batch.warm:
            snapshot = state_file(state_dir, batch.source_id)
            service.engine = load_engine(snapshot, batch.start, service.bundle.reference)
        decisions = decide_prepared(service, transactions, received, source=SOURCE)
        write_snapshot(batch.path / staging.SNAPSHOT_FILE, batch.end, service.engine)
        how = f"with model {service.model_version} ({'warm' if batch.warm else 'cold'} card state)"
    else:
        raise ValueError("score_run needs a scoring service or a scoring API client")
    staging.write_decisions(batch.path, decisions)
    flagged = int(decisions["decision"].sum())
    log.info("scored %d transactions %s: %d flagged", len(decisions), how, flagged)
    return replace(batch, scored=len(decisions), flagged=flagged)
