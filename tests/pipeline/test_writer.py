"""The one store writer, in the pipeline's mode (exactly once) and the API's (background)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pandas as pd
import pytest

from fraudwatch.decision import DECISION_COLUMNS
from fraudwatch.pipeline.writer import BatchWriter
from fraudwatch.sinks.records import DeadLetter


def decisions(*trans_nums: str) -> pd.DataFrame:
    """A decisions frame with these transactions (other columns empty)."""
    frame = pd.DataFrame({name: [None] * len(trans_nums) for name in DECISION_COLUMNS})
    frame["trans_num"] = list(trans_nums)
    return frame


class FakeStore:
    """Records each write_batch call; fails on the calls listed in ``fail_on`` (1-based)."""

    def __init__(self, fail_on: Sequence[int] = (), gate: threading.Event | None = None) -> None:
        self.calls: list[tuple[list[str], int, tuple[str, str] | None]] = []
        self.fail_on, self.gate, self.attempts = set(fail_on), gate, 0
        self.entered = threading.Event()  # a write has started

    def write_batch(
        self,
        decisions: pd.DataFrame,
        rejected: Sequence[DeadLetter] = (),
        checkpoint: tuple[str, str] | None = None,
    ) -> int:
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(5)
        self.attempts += 1
        if self.attempts in self.fail_on:
            raise ConnectionError("database went away")
        self.calls.append((decisions["trans_num"].tolist(), len(rejected), checkpoint))
        return len(decisions)


class Counts:
    """A WriteCounters that adds up."""

    def __init__(self) -> None:
        self.rows = {"queued": 0, "unqueued": 0, "written": 0, "failed": 0}

    def queued(self, rows: int) -> None:
        self.rows["queued"] += rows

    def unqueued(self, rows: int) -> None:
        self.rows["unqueued"] += rows

    def written(self, rows: int) -> None:
        self.rows["written"] += rows

    def failed(self, rows: int) -> None:
        self.rows["failed"] += rows


def test_exactly_once_commits_each_batch_with_its_checkpoint_in_order() -> None:
    store = FakeStore()
    seen: list[list[str]] = []
    writer = BatchWriter.exactly_once(store, [lambda frame: seen.append(list(frame["trans_num"]))])
    for n in range(5):
        writer.put(decisions(f"t{n}"), [], ("src", str(n + 1)))
    writer.close()
    assert store.calls == [([f"t{n}"], 0, ("src", str(n + 1))) for n in range(5)]
    assert seen == [[f"t{n}"] for n in range(5)]  # hooks after each commit


def test_exactly_once_raises_a_failure_and_stores_nothing_after_it() -> None:
    store = FakeStore(fail_on=[2])
    writer = BatchWriter.exactly_once(store)
    writer.put(decisions("a"), [], ("src", "1"))
    writer.put(decisions("b"), [], ("src", "2"))  # this commit fails
    with pytest.raises(RuntimeError, match="storing a batch failed: database went away"):
        writer.flush()
    with pytest.raises(RuntimeError):
        writer.put(decisions("c"), [], ("src", "3"))
    with pytest.raises(RuntimeError):
        writer.close()
    assert [checkpoint for _, _, checkpoint in store.calls] == [("src", "1")]  # never past b


def test_small_batches_are_written_inline_after_what_was_queued() -> None:
    store = FakeStore()
    writer = BatchWriter.exactly_once(store, inline_rows=1)
    writer.put(decisions("a", "b"), [], ("src", "2"))  # queued: more than one row
    writer.put(decisions("c"), [], ("src", "3"))  # inline, after the queued one
    assert [trans for trans, _, _ in store.calls] == [["a", "b"], ["c"]]
    writer.close()


def test_background_gathers_batches_into_one_transaction() -> None:
    store = FakeStore()
    counts = Counts()
    writer = BatchWriter.background(store, counts, max_wait=0.2)
    for name in ("a", "b", "c"):
        writer.put(decisions(name))
    writer.put(None, [DeadLetter("api", "bad", {}, pd.Timestamp.now(tz="UTC").to_pydatetime())])
    writer.put(decisions())  # nothing at all: not even queued
    assert writer.flush(5)
    writer.close()
    assert store.calls == [(["a", "b", "c"], 1, None)]  # what arrived within max_wait: one write
    assert counts.rows == {"queued": 3, "unqueued": 3, "written": 3, "failed": 0}


def test_background_never_raises_and_counts_what_it_could_not_store() -> None:
    counts = Counts()
    writer = BatchWriter.background(FakeStore(fail_on=[1]), counts, max_wait=0.0)
    writer.put(decisions("a", "b"))
    assert writer.flush(5)
    writer.put(decisions("c"))  # no error raised at the next hand-over
    writer.close()
    assert counts.rows["failed"] == 2 and counts.rows["written"] == 1


def test_background_drops_when_its_queue_is_full_instead_of_blocking() -> None:
    gate = threading.Event()
    counts = Counts()
    store = FakeStore(gate=gate)
    writer = BatchWriter.background(store, counts, max_wait=0.0, max_queued=1)
    writer.put(decisions("a"))  # the thread takes it and waits on the gate
    assert store.entered.wait(5)
    writer.put(decisions("b"))  # fills the queue
    writer.put(decisions("c"))  # dropped at once, counted
    assert counts.rows["failed"] == 1
    gate.set()
    writer.close()
    assert counts.rows["written"] == 2
