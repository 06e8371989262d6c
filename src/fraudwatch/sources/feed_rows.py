"""Source rows as the feed publishes them: JSON of the Jedha types, and each row's own time.

Each row is converted once, as it is published: every value JSON-safe (NaN becomes null,
numpy scalars become Python numbers) and typed as the Jedha feed types it; the JSON lacks
``current_time`` and its closing brace, which the publisher adds with its clock's stamp.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from fraudwatch.schema import FEED_COLUMNS

_SOURCE_COLUMNS: tuple[str, ...] = tuple(c for c in FEED_COLUMNS if c != "current_time")
_INTEGER_COLUMNS = frozenset({"cc_num", "zip", "city_pop", "is_fraud"})
_NUMBER_COLUMNS = frozenset({"amt", "lat", "long", "merch_lat", "merch_long"})
_DATE_COLUMNS = frozenset({"dob"})
_INTEGER_TEXT = re.compile(r"[+-]?\d+")
_DATE_PREFIX = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T].*)?")
_EVENT_TIME_COLUMN = "trans_date_trans_time"
#: Rows converted to JSON at a time: bounds the pause a large source chunk causes.
_SLICE_ROWS = 1000


@dataclass(frozen=True, slots=True)
class FeedRow:
    """A source row as JSON missing ``current_time`` and the closing brace, and its own time."""

    prefix: str
    event_ms: int | None


def prepared_rows(source: Iterable[pd.DataFrame]) -> Iterator[FeedRow]:
    """Source rows ready to be stamped, with their event time in epoch ms when they have one."""
    for frame in source:
        for start in range(0, len(frame), _SLICE_ROWS):
            yield from _prepare_slice(frame.iloc[start : start + _SLICE_ROWS])


def _prepare_slice(frame: pd.DataFrame) -> Iterator[FeedRow]:
    columns = [_column_values(frame, name) for name in _SOURCE_COLUMNS]
    for values, event_ms in zip(zip(*columns, strict=True), _event_ms(frame), strict=True):
        record = dict(zip(_SOURCE_COLUMNS, values, strict=True))
        yield FeedRow(json.dumps(record, allow_nan=False, separators=(",", ":"))[:-1], event_ms)


def _event_ms(frame: pd.DataFrame) -> list[int | None]:
    """Each row's ``trans_date_trans_time`` in epoch milliseconds (None where unreadable)."""
    if _EVENT_TIME_COLUMN not in frame:
        return [None] * len(frame)
    times = pd.to_datetime(frame[_EVENT_TIME_COLUMN], errors="coerce", format="mixed")
    millis = times.to_numpy(dtype="datetime64[ms]").astype("int64").tolist()
    return [None if missing else ms for ms, missing in zip(millis, times.isna(), strict=True)]


def _column_values(frame: pd.DataFrame, name: str) -> list[Any]:
    """One column as JSON-safe Python values of the type the Jedha feed uses."""
    if name not in frame:
        return [None] * len(frame)
    series = frame[name]
    numeric = pd.api.types.is_numeric_dtype(series.dtype)
    if name in _NUMBER_COLUMNS and numeric and not pd.api.types.is_bool_dtype(series.dtype):
        numbers = series.to_numpy(dtype="float64", na_value=np.nan).tolist()
        return [value if math.isfinite(value) else None for value in numbers]
    if (
        name in _INTEGER_COLUMNS
        and isinstance(series.dtype, np.dtype)
        and series.dtype.kind in "iu"
    ):
        return list(series.tolist())
    convert = _CONVERTERS.get(name, _text)
    return [convert(value) for value in series.tolist()]


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def _integer(value: Any) -> Any:
    """An integer when the value is one in any guise; anything else passes through as text."""
    if _is_missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return (
            int(value) if value.is_integer() else (float(value) if math.isfinite(value) else None)
        )
    text = str(value).strip()
    if _INTEGER_TEXT.fullmatch(text):
        return int(text)
    return text or None


def _number(value: Any) -> Any:
    """A finite float, or null; text that is not a number passes through for validation."""
    if _is_missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text or None
    return number if math.isfinite(number) else None


def _date(value: Any) -> Any:
    """A ``YYYY-MM-DD`` string, as the Jedha feed writes dates of birth."""
    if _is_missing(value):
        return None
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    text = str(value).strip()
    return text[:10] if _DATE_PREFIX.fullmatch(text) else (text or None)


def _text(value: Any) -> Any:
    if _is_missing(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    return value if isinstance(value, str) else str(value)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(_INTEGER_COLUMNS, _integer),
    **dict.fromkeys(_NUMBER_COLUMNS, _number),
    **dict.fromkeys(_DATE_COLUMNS, _date),
}
