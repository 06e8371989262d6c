"""Scoring a file (``fraudwatch score``): the online path over a CSV, pipelined, as a CSV.

Every row goes through the :class:`~fraudwatch.pipeline.service.ScoringService` that serves
the stream and the API — its lock, stream clock and card state, and the one decision rule
— in file order. It runs the service's steps one by one so that two things overlap: chunk
k is predicted on a worker thread (LightGBM lets go of the GIL) while this thread computes
chunk k+1's features (the only step that moves the card state, so the state still moves
strictly in file order). The output also carries the static-only baseline, for
evaluation.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from fraudwatch.model.registry import load_bundle
from fraudwatch.pipeline.event_clock import ClockPolicy
from fraudwatch.pipeline.prepare import prefetched, read_prepared
from fraudwatch.pipeline.service import Featured, Prepared, ScoringService
from fraudwatch.schema import LABEL_COLUMN, SCENARIO_COLUMN, Rejection

SCORE_COLUMNS = ("trans_num", "fraud_probability", "decision", "risk_level", "top_reasons",
                 "baseline_probability", "baseline_decision")  # fmt: skip
DEFAULT_SCORE_CHUNK_ROWS = 50_000


@dataclass
class ScoreSummary:
    """What a file scoring run did."""

    history_rows: int = 0
    scored: int = 0
    rejected: int = 0
    flagged: int = 0
    seconds: float = 0.0
    warm_seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        """Scoring throughput, history warming excluded."""
        return self.scored / max(self.seconds - self.warm_seconds, 1e-9)


def _write_csv_rows(frame: pd.DataFrame, handle: TextIO) -> None:
    """Append rows without a header; Arrow's CSV writer is several times faster than pandas'."""
    buffer = io.BytesIO()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
    pa_csv.write_csv(table, buffer, write_options=options)
    handle.write(buffer.getvalue().decode("utf-8"))


def rejected_path(out: Path) -> Path:
    """Where ``score_file`` sets aside the records it could not score (JSON lines)."""
    return out.with_name(out.stem + ".rejected.jsonl")


def score_file(
    model_dir: Path,
    data: Path,
    out: Path,
    key: bytes,
    *,
    history: Path | None = None,
    chunk_rows: int = DEFAULT_SCORE_CHUNK_ROWS,
    progress: Callable[[str, int], None] | None = None,
) -> ScoreSummary:
    """Score ``data`` in time order through the online path; ``history`` only warms state.

    Labels in ``data`` are dropped before anything sees them (validation included), so
    scores are the same with or without an ``is_fraud`` column, whatever it holds. A
    record that breaks the contract goes to :func:`rejected_path` with its reasons; event
    times are not judged against a stream clock (:meth:`ClockPolicy.unbounded`).
    """
    started = time.perf_counter()
    service = ScoringService(
        load_bundle(model_dir), key, baseline=True, clock_policy=ClockPolicy.unbounded()
    )
    summary = ScoreSummary()
    if history is not None:
        for batch in prefetched(read_prepared(history, key, chunk_rows)):
            summary.history_rows += service.learn_history(batch.transactions)
            if progress:
                progress("warming", len(batch.transactions))
    summary.warm_seconds = time.perf_counter() - started
    out.parent.mkdir(parents=True, exist_ok=True)
    dead_letter = rejected_path(out)
    dead_letter.unlink(missing_ok=True)

    def predict(featured: Featured) -> pd.DataFrame:
        scores = service.predict(featured)
        scores.insert(0, "trans_num", np.asarray(featured.transactions["trans_num"]))
        return scores[list(SCORE_COLUMNS)]

    def write(scores: pd.DataFrame) -> None:
        _write_csv_rows(scores, handle)
        summary.scored += len(scores)
        summary.flagged += int(scores["decision"].sum())
        if progress:
            progress("scoring", len(scores))

    with (
        out.open("w", newline="", encoding="utf-8") as handle,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="fraudwatch-score") as pool,
    ):
        pd.DataFrame(columns=list(SCORE_COLUMNS)).to_csv(handle, index=False)
        unlabelled = read_prepared(data, key, chunk_rows, drop=(LABEL_COLUMN, SCENARIO_COLUMN))
        pending: Future[pd.DataFrame] | None = None
        for batch in prefetched(unlabelled):
            featured = service.featurize(Prepared.of_frame(batch.transactions, batch.rejected))
            summary.rejected += len(featured.rejected)
            _set_aside(featured.rejected, dead_letter)
            if pending is not None:
                write(pending.result())
            pending = pool.submit(predict, featured)
        if pending is not None:
            write(pending.result())
    summary.seconds = time.perf_counter() - started
    return summary


def _set_aside(rejections: list[Rejection], dead_letter: Path) -> None:
    """Append rejected records with their reasons to the dead-letter file (JSON lines)."""
    if not rejections:
        return
    with dead_letter.open("a", encoding="utf-8") as rejects:
        for rejection in rejections:
            entry = {"reason": rejection.reason, "record": rejection.record}
            rejects.write(json.dumps(entry) + "\n")
