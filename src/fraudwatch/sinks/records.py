"""What the store writes, as plain Python values: decision rows and dead letters.

A decisions frame (``DECISION_COLUMNS``) becomes one list of driver-ready values per column
(``None`` for missing, Python numbers, times as ``datetime`` or text), column by column
with numpy rather than row by row. Dead letters carry the raw record as JSON with the card already
masked by :class:`fraudwatch.schema.Rejection`; anything else in it shaped like a card
number is masked again here, in case a shifted column put a PAN where no one expects it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from fraudwatch.pipeline.decision import DECISION_COLUMNS
from fraudwatch.privacy import redact_pans
from fraudwatch.schema import Rejection

#: Record fields that hold long digit runs which are not card numbers.
_NOT_PANS = frozenset({"trans_num", "unix_time", "current_time"})


@dataclass(frozen=True)
class DeadLetter:
    """A record that could not be processed, with why, kept for a person to look at."""

    source: str
    reason: str
    record: dict[str, Any]
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def as_row(self) -> dict[str, Any]:
        """The ``dead_letter`` row: record as JSON, PAN-shaped text masked, time in UTC."""
        record = {
            key: redact_pans(value) if isinstance(value, str) and key not in _NOT_PANS else value
            for key, value in self.record.items()
        }
        received = self.received_at
        if received.tzinfo is None:
            received = received.replace(tzinfo=UTC)
        return {
            "source": self.source,
            "reason": self.reason,
            "record": json.dumps(record, ensure_ascii=False, default=str),
            "received_at": received.astimezone(UTC),
        }


def dead_letters(rejections: Sequence[Rejection], source: str) -> list[DeadLetter]:
    """Dead letters of a batch's rejected records, all stamped with the same arrival time."""
    now = datetime.now(UTC)
    return [
        DeadLetter(source=source, reason=rejection.reason, record=rejection.record, received_at=now)
        for rejection in rejections
    ]


def decision_frame(decisions: pd.DataFrame) -> pd.DataFrame:
    """The decisions to write: exactly ``DECISION_COLUMNS``, one row per trans_num (last wins).

    A batch that carries the same transaction twice keeps its later row, as a later batch
    would; the upsert then sees each key once (Postgres refuses to update a row twice in
    one statement).
    """
    missing = [name for name in DECISION_COLUMNS if name not in decisions.columns]
    if missing:
        raise ValueError(f"decisions frame lacks columns: {', '.join(missing)}")
    frame = decisions.loc[:, list(DECISION_COLUMNS)]
    keys = frame["trans_num"]
    if keys.isna().any():
        raise ValueError("decisions frame has rows without trans_num")
    duplicated = keys.astype(str).duplicated(keep="last").to_numpy()
    if duplicated.any():
        frame = frame.loc[~duplicated]
    return frame.reset_index(drop=True)


def column_values(frame: pd.DataFrame, *, times_as_text: bool = False) -> dict[str, list[Any]]:
    """Each column of a decisions frame as a list of plain Python values (``None`` if missing).

    ``times_as_text`` gives ``event_time`` as ``YYYY-MM-DD HH:MM:SS.ffffff`` (naive UTC):
    the form SQLAlchemy stores in SQLite (so its comparisons stay right) and the text COPY
    sends to Postgres, made in one vectorised call instead of one ``datetime`` per row.
    """
    return {name: _python_values(frame[name], name, times_as_text) for name in frame.columns}


def _python_values(series: pd.Series, name: str, times_as_text: bool) -> list[Any]:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        times = series.to_numpy(dtype="datetime64[us]")
        if not times_as_text:
            return list(times.astype(object).tolist())  # datetime.datetime, NaT -> None
        text = np.char.replace(np.datetime_as_string(times, unit="us"), "T", " ").astype(object)
        text[np.isnat(times)] = None
        return list(text.tolist())
    if name == "decision":
        return list(series.fillna(0).to_numpy(dtype=np.int64).tolist())
    if name == "reasons":
        return [_reasons_json(value) for value in series.to_numpy(dtype=object).tolist()]
    if pd.api.types.is_float_dtype(series.dtype):
        numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
        missing = np.isnan(numbers)
        if not missing.any():
            return list(numbers.tolist())
        values = numbers.astype(object)
        values[missing] = None
        return list(values.tolist())
    values = series.to_numpy(dtype=object, copy=True)  # may be a read-only view otherwise
    values[series.isna().to_numpy(dtype=bool)] = None
    return list(values.tolist())


def _reasons_json(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "[]"
    return json.dumps([str(reason) for reason in value])


def alert_rows(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """``alerts`` rows for the flagged decisions (decision == 1) among ``columns``."""
    return [
        {"trans_num": trans_num, "risk_level": risk, "fraud_probability": probability}
        for trans_num, risk, probability, decision in zip(
            columns["trans_num"],
            columns["risk_level"],
            columns["fraud_probability"],
            columns["decision"],
            strict=True,
        )
        if decision == 1
    ]
