"""SQLite's WAL checkpoints run in a thread of their own, and the WAL still starts over.

A commit that crossed ``wal_autocheckpoint`` pages used to copy the WAL back into the
database itself (30-40 ms every two seconds at 1,000 tx/s); the store's
:class:`~fraudwatch.sinks.wal.WalCheckpointer` does it beside the writers instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fraudwatch.sinks import wal
from fraudwatch.sinks.store import Store
from tests.sinks.factories import synthetic_decisions


def _wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_the_wal_is_checkpointed_beside_the_writer_and_starts_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wal, "DEFAULT_EVERY_S", 0.02)
    monkeypatch.setattr(wal, "DEFAULT_RESTART_PAGES", 40)
    path = tmp_path / "store.db"
    store = Store(f"sqlite:///{path}")
    store.upgrade()
    for batch in range(300):
        decisions = synthetic_decisions(3, start=3 * batch, seed=batch)
        store.write_batch(decisions, (), ("source", str(batch)))
    checkpointer = store._wal
    assert checkpointer is not None and checkpointer.alive

    def caught_up() -> bool:
        last = checkpointer.last
        return last is not None and last[1] == last[2]

    _wait_for(caught_up)
    assert checkpointer.restarts >= 1
    last = checkpointer.last
    assert last is not None and last[1] == last[2]  # every WAL page is in the database file
    assert Path(f"{path}-wal").stat().st_size < 2 * 2**20
    assert store.count("decisions") == 900
    store.close()
    assert not checkpointer.alive
    assert store._wal is None


def test_a_store_that_never_writes_starts_no_thread(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'read_only.db'}")
    store.upgrade()
    assert store.count("decisions") == 0
    assert store._wal is None
    store.close()


def test_in_memory_databases_have_no_file_to_checkpoint() -> None:
    store = Store("sqlite://")
    assert store._wal_file is None
    store.close()


def _busy_writer(path: Path, seconds: float) -> tuple[int, int]:
    """Commit small batches every ~2 ms for ``seconds`` (never checkpointing themselves).

    Returns the number of commits and the WAL file's size at the end (bytes).
    """
    import sqlite3

    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")
    connection.execute("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT)")
    connection.execute("CREATE INDEX IF NOT EXISTS t_v ON t (v)")
    connection.commit()
    commits, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        rows = [(commits * 10 + i, f"{(commits * 7919 + i) % 100_003:032x}" * 4) for i in range(10)]
        connection.executemany("INSERT INTO t VALUES (?, ?)", rows)
        connection.commit()
        commits += 1
        time.sleep(0.002)  # a pipeline's writer: a commit every few milliseconds
    size = Path(f"{path}-wal").stat().st_size
    connection.close()
    return commits, size


def test_under_a_continuous_writer_the_wal_still_starts_over(tmp_path: Path) -> None:
    """PASSIVE alone never catches up with a writer that never pauses; RESTART does."""
    path = tmp_path / "busy.db"
    _busy_writer(path, 0.0)  # the schema, in WAL mode
    checkpointer = wal.WalCheckpointer(path, every=0.02, restart_pages=100)
    try:
        commits, wal_bytes = _busy_writer(path, 1.5)
    finally:
        checkpointer.close()
    assert commits > 100
    assert checkpointer.restarts >= 1
    assert wal_bytes < 4 * 2**20
