"""What the store writes, as plain Python values: decision rows and dead letters.

A decisions frame (``DECISION_COLUMNS``) becomes one list of driver-ready values per column
(``None`` for missing, Python numbers, times as ``datetime`` or text), column by column
with numpy rather than row by row. Dead letters carry the raw record as JSON with the card already
masked by :class:`fraudwatch.schema.Rejection`; anything else in it shaped like a card
number is masked again here, in case a shifted column put a PAN where no one expects it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from fraudwatch.decision import DECISION_COLUMNS
from fraudwatch.frames import column_arrays, plain_values
from fraudwatch.privacy import redact_pans
from fraudwatch.schema import Rejection

#: Record fields that hold long digit runs which are not card numbers. They are left as they
#: are only while they look like what they are: a Kaggle trans_num (32 hex characters) or an
#: epoch time (seconds or milliseconds, 2000-2100); anything else in them is masked.
_NOT_PANS = frozenset({"trans_num", "unix_time", "current_time"})
_TRANS_NUM = re.compile(r"[0-9a-fA-F]{32}")
_EPOCH_RANGES = ((946_684_800, 4_102_444_800), (946_684_800_000, 4_102_444_800_000))


def _looks_like_itself(key: str | None, value: object) -> bool:
    """Whether a ``_NOT_PANS`` field holds what its name says (then it is not masked)."""
    if key not in _NOT_PANS:  # most fields: nothing to convert
        return False
    text = str(value).strip()
    if key == "trans_num":
        return _TRANS_NUM.fullmatch(text) is not None
    try:
        number = float(text)
    except ValueError:
        return False
    return any(low <= number < high for low, high in _EPOCH_RANGES)


def masked(value: Any, key: str | None = None) -> Any:
    """``value`` with everything shaped like a card number masked, at any depth.

    Texts, numbers (a PAN may arrive as a JSON number) and mapping keys are all looked at;
    a number that holds a PAN becomes its masked text.
    """
    if isinstance(value, dict):
        return {masked(k): masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked(item, key) for item in value]
    if value is None or isinstance(value, bool) or _looks_like_itself(key, value):
        return value
    if isinstance(value, str):
        return redact_pans(value)
    if isinstance(value, int | float | np.integer | np.floating):
        text = str(value)
        redacted = redact_pans(text)
        return value if redacted == text else redacted
    return value


@dataclass(frozen=True)
class DeadLetter:
    """A record that could not be processed, with why, kept for a person to look at."""

    source: str
    reason: str
    record: dict[str, Any]
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def as_row(self) -> dict[str, Any]:
        """The ``dead_letter`` row: record as JSON, PAN-shaped text masked, time in UTC."""
        record = masked(self.record)
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


def decision_columns(
    decisions: pd.DataFrame, *, times_as_text: bool = False
) -> dict[str, list[Any]]:
    """The decisions to write as one list of plain Python values per ``DECISION_COLUMNS`` name.

    One row per trans_num: a batch that carries the same transaction twice keeps its later
    row, as a later batch would; the upsert then sees each key once (Postgres refuses to
    update a row twice in one statement). Values are driver-ready (``None`` if missing,
    Python numbers; with ``times_as_text``, ``event_time`` as ``YYYY-MM-DD
    HH:MM:SS.ffffff`` naive UTC: the form SQLAlchemy stores in SQLite, so its comparisons
    stay right, and the text COPY sends to Postgres). Read straight from the frame's
    arrays, column by column with numpy, so a batch of a few rows costs little.
    """
    missing = [name for name in DECISION_COLUMNS if name not in decisions.columns]
    if missing:
        raise ValueError(f"decisions frame lacks columns: {', '.join(missing)}")
    if not len(decisions):
        return {name: [] for name in DECISION_COLUMNS}
    if not decisions.columns.is_unique:  # extra columns may repeat a name; ours may not
        decisions = decisions.loc[:, list(DECISION_COLUMNS)]
    arrays = column_arrays(decisions)
    columns = {name: _python_values(arrays[name], name, times_as_text) for name in DECISION_COLUMNS}
    keys = columns["trans_num"]
    if any(key is None for key in keys):
        raise ValueError("decisions frame has rows without trans_num")
    last = {str(key): row for row, key in enumerate(keys)}  # a repeated key: its last row
    if len(last) < len(keys):
        kept = sorted(last.values())
        columns = {name: [values[row] for row in kept] for name, values in columns.items()}
    return columns


def _python_values(values: Any, name: str, times_as_text: bool) -> list[Any]:
    """One column's array as plain Python values, missing ones as ``None``.

    Date-times become naive-UTC ``datetime`` objects (or text), ``decision`` an int
    (missing: 0) and ``reasons`` a JSON list; everything else is read from the array as
    it is, so the few rows of a latency-bound batch cost little.
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return _time_values(_naive_utc(values), times_as_text)
    plain = plain_values(values, nan_as_none=True)
    if name == "decision":
        return [0 if value is None else int(value) for value in plain]
    if name == "reasons":
        return [_reasons_json(value) for value in plain]
    return plain


def _naive_utc(values: Any) -> np.ndarray:
    """Date-times as ``datetime64[us]``, time-zone-aware ones converted to naive UTC."""
    if isinstance(values, np.ndarray) or getattr(values.dtype, "tz", None) is None:
        return np.asarray(values, dtype="datetime64[us]")
    series = pd.Series(values, copy=False)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    return series.to_numpy(dtype="datetime64[us]")


def _time_values(times: np.ndarray, times_as_text: bool) -> list[Any]:
    """``datetime64[us]`` values as ``datetime`` objects, or as text; NaT as ``None``."""
    if not times_as_text:
        return list(times.astype(object).tolist())  # datetime.datetime, NaT -> None
    text = np.datetime_as_string(times, unit="us").tolist()
    missing = np.isnat(times).tolist()
    return [
        None if nat else value.replace("T", " ") for value, nat in zip(text, missing, strict=True)
    ]


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
