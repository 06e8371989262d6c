"""One DAG run's data between its tasks: a folder of files, and a small reference to it.

Airflow runs each task in its own process and passes return values through its metadata
database (XCom), which is no place for thousands of rows. A task therefore writes what it
produced into the run's staging folder (``DATA_DIR/staging/<dag>/<run>/``) and hands the
next task a :class:`RunBatch`: the folder, the source and its position range, and counts.
On one machine (``airflow standalone``, the LocalExecutor) that is a local folder; workers
on several machines need ``DATA_DIR`` on a shared volume (they need the feature state
there anyway).

Card numbers are tokenized in the task that fetched them, so the staged transactions carry
``card_token`` and ``masked_pan`` only. The one exception is scoring through the API, which
must receive the raw record: those records wait in ``api_records.json`` (mode 0600) until
the scoring task has sent them, and it deletes the file at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from fraudwatch.sinks.records import DeadLetter

TRANSACTIONS_FILE = "transactions.parquet"
API_RECORDS_FILE = "api_records.json"
DEAD_LETTERS_FILE = "dead_letters.json"
DECISIONS_FILE = "decisions.parquet"
SNAPSHOT_FILE = "features.pkl"
#: Column of the staged transactions holding each record's arrival time (epoch seconds).
RECEIVED_AT = "_received_at"
#: Staging folders of failed runs are removed after this long.
STALE_AFTER_S = 24 * 3600.0


@dataclass(frozen=True)
class RunBatch:
    """The reference one task hands the next: where the run's data is, what range it covers.

    ``start`` and ``end`` are source positions (our feed's cursor, or a run counter for a
    Jedha-style feed): the run holds the records after ``start`` up to ``end``. ``warm``
    says whether scoring continues the feature snapshot taken at ``start``.
    """

    folder: str
    source_id: str
    mode: str
    start: str
    end: str
    fetched: int = 0
    valid: int = 0
    rejected: int = 0
    missed: int = 0
    warm: bool = False
    scored: int = 0
    flagged: int = 0
    stored: int = 0
    dead_letters: int = 0

    def to_xcom(self) -> dict[str, Any]:
        """A JSON-ready dict (what a task returns)."""
        return asdict(self)

    @classmethod
    def from_xcom(cls, value: Mapping[str, Any]) -> RunBatch:
        """The batch a previous task returned."""
        return cls(**dict(value))

    @property
    def path(self) -> Path:
        """The staging folder."""
        return Path(self.folder)


def run_folder(data_dir: Path, dag_id: str, run_id: str) -> Path:
    """A fresh, empty staging folder for one run (a retried task starts it over)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id).strip("._") or "run"
    folder = data_dir.expanduser().absolute() / "staging" / dag_id / safe
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)
    return folder


def remove_stale(data_dir: Path, dag_id: str, older_than_s: float = STALE_AFTER_S) -> int:
    """Delete staging folders left by failed runs older than ``older_than_s``; returns how many."""
    root = data_dir.expanduser().absolute() / "staging" / dag_id
    if not root.is_dir():
        return 0
    cutoff = time.time() - older_than_s
    removed = 0
    for folder in root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def write_transactions(folder: Path, transactions: pd.DataFrame, received_at: Any) -> None:
    """Stage prepared (tokenized) transactions with their arrival times."""
    frame = transactions.copy()
    frame[RECEIVED_AT] = received_at
    frame.to_parquet(folder / TRANSACTIONS_FILE, index=False)


def read_transactions(folder: Path) -> tuple[pd.DataFrame, Any]:
    """The staged transactions and their arrival times (empty when none were staged)."""
    path = folder / TRANSACTIONS_FILE
    if not path.is_file():
        return pd.DataFrame(), []
    frame = pd.read_parquet(path)
    received = frame.pop(RECEIVED_AT).to_numpy(dtype="float64")
    return frame, received


def write_api_records(folder: Path, records: Sequence[Mapping[str, Any]]) -> None:
    """Stage raw valid records for the scoring API (card numbers included: mode 0600)."""
    path = folder / API_RECORDS_FILE
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump([_json_record(record) for record in records], handle)


def take_api_records(folder: Path) -> list[dict[str, Any]]:
    """Read the raw records staged for the API and delete the file."""
    path = folder / API_RECORDS_FILE
    if not path.is_file():
        return []
    records: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    path.unlink()
    return records


def write_dead_letters(folder: Path, letters: Sequence[DeadLetter]) -> None:
    """Stage the rejected records (already masked) with their reasons."""
    rows = [
        {
            "source": letter.source,
            "reason": letter.reason,
            "record": letter.record,
            "received_at": letter.received_at.isoformat(),
        }
        for letter in letters
    ]
    (folder / DEAD_LETTERS_FILE).write_text(json.dumps(rows, default=str), encoding="utf-8")


def read_dead_letters(folder: Path) -> list[DeadLetter]:
    """The staged dead letters."""
    path = folder / DEAD_LETTERS_FILE
    if not path.is_file():
        return []
    return [
        DeadLetter(
            source=row["source"],
            reason=row["reason"],
            record=row["record"],
            received_at=datetime.fromisoformat(row["received_at"]),
        )
        for row in json.loads(path.read_text(encoding="utf-8"))
    ]


def write_decisions(folder: Path, decisions: pd.DataFrame) -> None:
    """Stage a decisions frame."""
    decisions.to_parquet(folder / DECISIONS_FILE, index=False)


def read_decisions(folder: Path) -> pd.DataFrame | None:
    """The staged decisions, or None when the run scored nothing."""
    path = folder / DECISIONS_FILE
    return pd.read_parquet(path) if path.is_file() else None


def remove(folder: Path) -> None:
    """Delete a run's staging folder (after the run stored everything)."""
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(folder)


def _json_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A raw record as JSON values: missing values left out, numpy scalars as Python ones."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
            continue
        out[str(key)] = value.item() if hasattr(value, "item") else value
    return out
