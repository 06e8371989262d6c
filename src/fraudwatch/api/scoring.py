"""What the endpoints do with transactions: score them through the shared service, hand the
decisions to the store writer, and turn contract failures into located errors.

The writer is the pipeline's :class:`~fraudwatch.pipeline.writer.BatchWriter` in its
background mode (:meth:`~fraudwatch.pipeline.writer.BatchWriter.background`): a request
never waits for the database, so the API's durability is asynchronous.

Every transaction goes through :meth:`fraudwatch.pipeline.service.ScoringService.score`,
the path the streaming pipeline uses, so a transaction gets the same features and score
however it arrives.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from fraudwatch.api.metrics import ApiMetrics
from fraudwatch.errors import FraudwatchError
from fraudwatch.frames import column_arrays
from fraudwatch.pipeline.service import ScoringService
from fraudwatch.pipeline.writer import BatchWriter, DecisionStore
from fraudwatch.schema import Rejection
from fraudwatch.sinks.records import dead_letters

SOURCE = "api"

#: How each named threshold of ``/predict`` follows from the model's threshold ``t``.
THRESHOLD_RULES: dict[str, str] = {
    "conservative": "(1 + t) / 2: halfway between the model's threshold and 1, fewer alerts",
    "balanced": "t: the model's threshold, chosen on validation by its threshold policy",
    "sensitive": "t / 2: also flags what the model calls MEDIUM risk",
    "very_sensitive": "t / 4: the widest net, for investigations",
}


def named_thresholds(model_threshold: float) -> dict[str, float]:
    """The four named thresholds of ``/predict`` for a model threshold (see THRESHOLD_RULES)."""
    t = float(model_threshold)
    return {
        "conservative": (1.0 + t) / 2.0,
        "balanced": t,
        "sensitive": t / 2.0,
        "very_sensitive": t / 4.0,
    }


class ContractError(FraudwatchError):
    """Records that passed the request schema but break the transaction contract."""

    def __init__(
        self, rejections: Sequence[Rejection], prefix: tuple[str | int, ...], batched: bool
    ) -> None:
        super().__init__(f"{len(rejections)} transaction(s) break the contract")
        self.rejections = tuple(rejections)
        self.prefix = prefix
        self.batched = batched

    def items(self) -> list[dict[str, Any]]:
        """One located error per problem: ``loc`` ends with the index (batch) and the field."""
        items = []
        for rejection in self.rejections:
            where = (*self.prefix, rejection.position) if self.batched else self.prefix
            for error in rejection.errors:
                items.append({"loc": [*where, error.field], "msg": error.message, "type": "schema"})
        return items


class StoreCounters:
    """The background writer's counts, as the API's Prometheus metrics."""

    def __init__(self, metrics: ApiMetrics) -> None:
        self.metrics = metrics

    def queued(self, rows: int) -> None:
        """Rows waiting for the store (``fraudwatch_api_store_queue_rows`` up)."""
        self.metrics.store_queue.inc(rows)

    def unqueued(self, rows: int) -> None:
        """Rows no longer waiting (the gauge down)."""
        self.metrics.store_queue.dec(rows)

    def written(self, rows: int) -> None:
        """Rows committed (``fraudwatch_api_store_written_total``)."""
        self.metrics.store_written.inc(rows)

    def failed(self, rows: int) -> None:
        """Rows dropped (``fraudwatch_api_store_failed_total``)."""
        self.metrics.store_failed.inc(rows)


def background_writer(store: DecisionStore, metrics: ApiMetrics) -> BatchWriter:
    """The API's store writer: in the background, counted in ``metrics``."""
    return BatchWriter.background(store, StoreCounters(metrics))


class ApiScorer:
    """Scores records for the endpoints and queues their decisions for the store."""

    def __init__(
        self, service: ScoringService, metrics: ApiMetrics, writer: BatchWriter | None
    ) -> None:
        self.service = service
        self.metrics = metrics
        self.writer = writer

    def score(
        self,
        records: Sequence[dict[str, Any]],
        received_at: float,
        *,
        prefix: tuple[str | int, ...] = ("body",),
        batched: bool = False,
    ) -> list[dict[str, Any]]:
        """Decisions for ``records``, in their order; ContractError if any breaks the contract.

        A batch is all or nothing: nothing is scored (so no card state or stream clock
        moves) unless every record is valid, its event time included.
        """
        outcomes = self.score_each(
            records, np.full(len(records), received_at), all_or_nothing=batched
        )
        rejected = [outcome for outcome in outcomes if isinstance(outcome, Rejection)]
        if rejected:
            raise ContractError(rejected, prefix, batched)
        return outcomes  # type: ignore[return-value]

    def score_each(
        self,
        records: Sequence[dict[str, Any]],
        received_at: np.ndarray,
        *,
        all_or_nothing: bool = False,
    ) -> list[dict[str, Any] | Rejection]:
        """Each record's response item, or its rejection, in order — in one service call."""
        scored = self.service.score(
            records,
            source=SOURCE,
            received_at=received_at,
            keep_features=True,
            all_or_nothing=all_or_nothing,
        )
        outcomes: list[dict[str, Any] | Rejection] = [{}] * len(records)
        if scored.rejected:
            self._count_rejected(scored.rejected)
            for rejection in scored.rejected:
                outcomes[rejection.position] = rejection
        decisions = scored.decisions
        if not len(decisions):
            return outcomes
        if self.writer is not None:
            self.writer.put(decisions)
        assert scored.features is not None  # its index: positions of the decision rows
        positions = scored.features.index.tolist()
        for position, item in zip(positions, self._items(decisions), strict=True):
            outcomes[position] = item
        return outcomes

    def _count_rejected(self, rejections: Sequence[Rejection]) -> None:
        self.metrics.rejected.inc(len(rejections))
        if self.writer is not None:
            self.writer.put(None, dead_letters(rejections, SOURCE))

    def _items(self, decisions: pd.DataFrame) -> list[dict[str, Any]]:
        """One response item per decision row."""
        names = ("trans_num", "fraud_probability", "decision", "risk_level", "threshold",
                 "model_version", "reasons", "latency_ms")  # fmt: skip
        arrays = column_arrays(decisions)  # no Series per column: ~10 µs each
        columns = {name: arrays[name].tolist() for name in names}
        self.metrics.count_decisions(columns["decision"], columns["risk_level"])
        items = []
        for row in range(len(decisions)):
            item = {name: columns[name][row] for name in names}
            item["top_reasons"] = json.loads(item.pop("reasons"))
            items.append(item)
        return items


class Coalescer:
    """Single transactions waiting at the same moment are scored together, in one call.

    Each request adds its record and awaits; the first one schedules a drain on the event
    loop, which runs after the requests already read from the sockets have been parsed,
    and scores everything pending in one :meth:`ApiScorer.score_each` call (at most
    ``max_batch``). Idle, a request is scored alone, at once; busy, the per-call overhead
    is shared, so the API keeps up instead of queueing. Everything stays on the event
    loop's thread: no hand-off, no lock contention.
    """

    def __init__(self, scorer: ApiScorer, max_batch: int = 256) -> None:
        self.scorer = scorer
        self.max_batch = max_batch
        self._pending: list[tuple[dict[str, Any], float, asyncio.Future[Any]]] = []
        self._scheduled = False

    async def score(
        self, record: dict[str, Any], received_at: float, prefix: tuple[str | int, ...]
    ) -> dict[str, Any]:
        """The decision on one record (ContractError if it breaks the contract)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((record, received_at, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._drain)
        outcome = await future
        if isinstance(outcome, Rejection):
            raise ContractError([outcome], prefix, batched=False)
        return outcome  # type: ignore[no-any-return]

    def _drain(self) -> None:
        batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
        if self._pending:
            asyncio.get_running_loop().call_soon(self._drain)
        else:
            self._scheduled = False
        try:
            outcomes = self.scorer.score_each(
                [record for record, _, _ in batch], np.array([at for _, at, _ in batch])
            )
        except Exception as error:  # every waiting request gets the error (a 500)
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, _, future), outcome in zip(batch, outcomes, strict=True):
            if not future.done():  # the client may have gone away
                future.set_result(outcome)
