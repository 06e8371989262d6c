"""The contract checked value by value, for the few records of a latency-bound call.

Vectorised validation (:func:`fraudwatch.schema.validate_batch`) costs ~15 ms of pandas
overhead whatever the batch size, which is all of an API call's budget. For a small
list-of-dict batch of plain JSON values (str, int, float, bool, None, list, dict) this module
applies the same rules with the same messages in plain Python and builds the same
:class:`~fraudwatch.schema.ValidatedBatch` (same columns, dtypes, values and index), in well
under a millisecond. ``tests/test_schema_fast_path.py`` checks with hypothesis that both
paths agree on valid, corrupted and junk records; a change to a rule must be made in both.
Anything unusual (numpy scalars, huge integers, non-string keys) is left to the vectorised
path, which is the reference.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from fraudwatch.frames import column_arrays, frame_from_columns, object_array, plain_values
from fraudwatch.privacy import mask_pan
from fraudwatch.schema import (
    _COORDINATES,
    _DATE_PATTERN,
    _DATE_TIME_PATTERN,
    _PAN_PATTERN,
    _TEXT_CHECKED,
    _TEXT_OPTIONAL,
    _TEXT_REQUIRED,
    CATEGORIES,
    CURRENT_TIME_MESSAGE,
    EVENT_TIME,
    EVENT_TIME_RANGE_MS,
    EVENT_TIME_WINDOW_MESSAGE,
    LABEL_COLUMN,
    SCENARIO_COLUMN,
    UNSTORABLE_MESSAGE,
    VALID_COLUMNS,
    FieldError,
    Rejection,
    ValidatedBatch,
    _json_safe,
    has_unstorable,
    integers_or_na,
    storable,
)

#: Batches of at most this many records take the scalar path.
SMALL_BATCH = 16
_PLAIN_TYPES = frozenset({str, int, float, bool, type(None), list, dict})
_INT64 = 2**63
_NS = 1_000_000_000
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_OLDEST_DOB_NS = (dt.date(1900, 1, 1).toordinal() - _EPOCH_ORDINAL) * 86_400 * _NS
_EVENT_LOW_NS, _EVENT_HIGH_NS = (limit * 1_000_000 for limit in EVENT_TIME_RANGE_MS)
_PAN_RE = re.compile(_PAN_PATTERN)
_DATE_TIME_RE = re.compile(_DATE_TIME_PATTERN)
_DATE_RE = re.compile(_DATE_PATTERN)
#: The shapes parsed here directly; other ISO 8601 forms go to pandas' own parser.
_SIMPLE_TIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T]([0-9]{2}):([0-9]{2}):([0-9]{2}))?"
)
_CATEGORY_SET = frozenset(CATEGORIES)
_UNKNOWN_CATEGORY = f"unknown category (known: {', '.join(CATEGORIES)})"


#: Rows of a pandas batch (a CSV chunk, a decoded feed page) that still take the scalar path.
SMALL_FRAME = 64


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]] | None:
    """The rows of a small frame as plain records for the scalar path, or None if not eligible.

    pandas' missing markers become None, as in a JSON record; anything not plain (numpy
    objects in an object column, huge integers) sends the batch to the vectorised path.
    """
    if len(frame) > SMALL_FRAME:
        return None
    names = frame.columns.tolist()
    if any(type(name) is not str for name in names) or len(set(names)) < len(names):
        return None
    columns = [plain_values(values) for values in column_arrays(frame).values()]
    records = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    return records if eligible(records, limit=SMALL_FRAME) else None


def eligible(records: Sequence[Any], limit: int = SMALL_BATCH) -> bool:
    """Whether a batch can take the scalar path: few records, plain JSON values only."""
    if not isinstance(records, list | tuple) or len(records) > limit:
        return False
    for record in records:
        if type(record) is not dict:
            return False
        for key, value in record.items():
            kind = type(value)
            if type(key) is not str or kind not in _PLAIN_TYPES:
                return False
            if kind is int and not -_INT64 <= value < _INT64:
                return False
    return True


def _missing(value: Any) -> bool:
    """What pandas' ``isna`` calls missing among plain values."""
    return value is None or (type(value) is float and math.isnan(value))


def _text(value: Any) -> str | None:
    """``astype("string").str.strip()`` of one value (Python's whitespace = Arrow's)."""
    if _missing(value):
        return None
    return (value if type(value) is str else str(value)).strip()


def _blank(value: Any) -> bool:
    """Missing, or a string of whitespace only."""
    return _missing(value) or (type(value) is str and not value.strip())


def _number(value: Any) -> float:
    """A value as float; NaN when it is not a real number (bools included)."""
    kind = type(value)
    if kind is float:
        return float(value)
    if kind is int:
        return float(value)
    if kind is str:  # pandas' own number parser, as the vectorised path uses
        parsed = pd.to_numeric(value, errors="coerce")
        return math.nan if pd.isna(parsed) else float(parsed)
    return math.nan


def _card(value: Any) -> str | None:
    """A card number as digits text; integral floats are accepted, other floats are not."""
    kind = type(value)
    if kind is float:
        return str(int(value)) if value.is_integer() else None
    if kind is bool or value is None:
        return None
    return _text(value)


def _time_ns(text: str | None, pattern: re.Pattern[str]) -> int | None:
    """An ISO date/date-time as naive-UTC epoch nanoseconds; None when malformed."""
    if text is None or not pattern.fullmatch(text) or not 1900 <= int(text[:4]) <= 2200:
        return None
    simple = _SIMPLE_TIME_RE.fullmatch(text)
    if simple is None:
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
        return None if pd.isna(parsed) else int(parsed.tz_convert(None).as_unit("ns").value)
    year, month, day, hour, minute, second = (int(part or 0) for part in simple.groups())
    try:
        moment = dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    seconds = (moment.toordinal() - _EPOCH_ORDINAL) * 86_400 + hour * 3600 + minute * 60 + second
    return seconds * _NS


class _Checker:
    """Checks one record after another against the columns present in the batch."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.present = frozenset(columns)

    def check(self, record: Mapping[str, Any]) -> tuple[list[FieldError], dict[str, Any]]:
        """Every problem of one record, in the order the vectorised path reports them."""
        errors: list[FieldError] = []
        values: dict[str, Any] = {}
        present = self.present

        def add(name: str, message: str) -> None:
            errors.append(FieldError(name, message))

        def required(name: str) -> Any:
            if name not in present:
                add(name, "missing column")
                return None
            return record.get(name)

        if has_unstorable("".join(value for value in record.values() if type(value) is str)):
            record = dict(record)
            for name in _TEXT_CHECKED:
                value = record.get(name)
                if name in present and type(value) is str and has_unstorable(value):
                    add(name, UNSTORABLE_MESSAGE)
                    record[name] = storable(value)
        event_ns = self._event_time(record, add)
        values[EVENT_TIME] = event_ns
        if "trans_date_trans_time" in present:
            values["trans_date_trans_time"] = _text(record.get("trans_date_trans_time"))

        raw = required("cc_num")
        if "cc_num" in present:
            card = values["cc_num"] = _card(raw)
            if _blank(raw):
                add("cc_num", "missing value")
            elif card is None or not _PAN_RE.fullmatch(card):
                add("cc_num", "must be 8 to 19 digits")

        for name in _TEXT_REQUIRED:
            raw = required(name)
            if name in present:
                values[name] = _text(raw)
                if _blank(raw):
                    add(name, "missing value")

        raw = required("category")
        if "category" in present:
            text = values["category"] = _text(raw)
            if _blank(raw):
                add("category", "missing value")
            elif text not in _CATEGORY_SET:
                add("category", _UNKNOWN_CATEGORY)

        raw = required("amt")
        if "amt" in present:
            amount = values["amt"] = _number(raw)
            if _blank(raw):
                add("amt", "missing value")
            elif not math.isfinite(amount):
                add("amt", "must be a number")
            elif amount < 0:
                add("amt", "must be >= 0")

        for name, limit in _COORDINATES.items():
            raw = required(name)
            if name in present:
                value = values[name] = _number(raw)
                if _blank(raw):
                    add(name, "missing value")
                elif not math.isfinite(value):
                    add(name, "must be a number")
                elif abs(value) > limit:
                    add(name, f"out of range [-{limit:g}, {limit:g}]")

        raw = required("city_pop")
        if "city_pop" in present:
            value = values["city_pop"] = _number(raw)
            if _blank(raw):
                add("city_pop", "missing value")
            elif not (math.isfinite(value) and value % 1 == 0 and 0 <= value < 2**63):
                add("city_pop", "must be a whole number >= 0")

        raw = required("gender")
        if "gender" in present:
            text = _text(raw)
            gender = values["gender"] = None if text is None else text.upper()
            if _blank(raw):
                add("gender", "missing value")
            elif gender not in ("M", "F"):
                add("gender", "must be M or F")

        raw = required("dob")
        if "dob" in present:
            born = values["dob"] = None if _blank(raw) else _time_ns(_text(raw), _DATE_RE)
            if _blank(raw):
                add("dob", "missing value")
            elif born is None:
                add("dob", "not a date (expected YYYY-MM-DD)")
            elif born < _OLDEST_DOB_NS or (event_ns is not None and born > event_ns):
                add("dob", "must lie between 1900 and the event time")

        for name in _TEXT_OPTIONAL:
            if name in present:
                values[name] = _text(record.get(name))
        if "unix_time" in present:
            raw = record.get("unix_time")
            value = values["unix_time"] = _number(raw)
            if not _blank(raw) and not math.isfinite(value):
                add("unix_time", "must be a number (epoch seconds)")
        if LABEL_COLUMN in present:
            raw = record.get(LABEL_COLUMN)
            value = values[LABEL_COLUMN] = _number(raw)
            if not _blank(raw) and value not in (0.0, 1.0):
                add(LABEL_COLUMN, "must be 0 or 1 when given")
        if SCENARIO_COLUMN in present:
            values[SCENARIO_COLUMN] = _text(record.get(SCENARIO_COLUMN)) or ""
        return errors, values

    def _event_time(self, record: Mapping[str, Any], add: Callable[[str, str], None]) -> int | None:
        """``current_time`` (epoch ms) when given, else ``trans_date_trans_time``."""
        event_ns: int | None = None
        has_current = False
        if "current_time" in self.present:
            raw = record.get("current_time")
            blank = _blank(raw)
            millis = _number(raw)
            low, high = EVENT_TIME_RANGE_MS
            ok = not blank and low <= millis < high
            if not blank and not ok:
                add("current_time", CURRENT_TIME_MESSAGE)
            has_current = not blank
            if ok:
                event_ns = int(millis) * 1_000_000
        if "trans_date_trans_time" in self.present:
            if not has_current:
                raw = record.get("trans_date_trans_time")
                if _blank(raw):
                    add("trans_date_trans_time", "missing value")
                else:
                    event_ns = _time_ns(_text(raw), _DATE_TIME_RE)
                    if event_ns is None:
                        add(
                            "trans_date_trans_time",
                            "not a date-time (expected YYYY-MM-DD HH:MM:SS)",
                        )
                    elif not _EVENT_LOW_NS <= event_ns < _EVENT_HIGH_NS:
                        add("trans_date_trans_time", EVENT_TIME_WINDOW_MESSAGE)
                        event_ns = None
        elif not has_current:
            add("trans_date_trans_time", "missing column (needed when current_time is absent)")
        return event_ns


def _raw_record(record: Mapping[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    """The record as the vectorised path keeps it: every batch column, JSON-safe, PAN masked."""
    kept = {name: _json_safe(record.get(name)) for name in columns}
    if kept.get("cc_num") is not None:
        kept["cc_num"] = mask_pan(str(kept["cc_num"]))
    return kept


def _strings(values: Sequence[str | None]) -> pd.api.extensions.ExtensionArray:
    """Text values as pandas' ``string`` dtype (Arrow-backed, NA for None), built directly."""
    return pd.arrays.ArrowStringArray(pa.array(values, type=pa.large_string()))


def _clock_text(event_ns: int) -> str:
    """``YYYY-MM-DD HH:MM:SS`` of epoch nanoseconds (the strftime the vectorised path uses)."""
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=event_ns // 1000)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _typed_columns(
    rows: list[dict[str, Any]],
    present: frozenset[str],
    columns: list[str],
    *,
    text: Callable[[list[Any]], Any] = _strings,
    lean: bool = False,
) -> dict[str, Any]:
    """The valid rows' values as columns with the vectorised path's dtypes.

    ``text`` builds text columns (pandas ``string`` by default); ``lean`` leaves out what
    scoring never reads (the clock text, ``unix_time``, the label and the scenario).
    """

    def column(name: str) -> list[Any]:
        return [row[name] for row in rows]

    def times(name: str) -> np.ndarray:
        return np.array(column(name), dtype=np.int64).view("datetime64[ns]")

    def floats(name: str) -> np.ndarray:
        return np.array(column(name), dtype=np.float64)

    out: dict[str, Any] = {EVENT_TIME: times(EVENT_TIME)}
    if lean:
        pass
    elif "trans_date_trans_time" in present:
        out["trans_date_trans_time"] = text(column("trans_date_trans_time"))
    else:
        clock = [_clock_text(row[EVENT_TIME]) for row in rows]
        out["trans_date_trans_time"] = text(clock)
    for name in ("cc_num", *_TEXT_REQUIRED, "category", "gender"):
        if name in present:
            out[name] = text(column(name))
    for name in ("amt", *_COORDINATES):
        if name in present:
            out[name] = floats(name)
    if "city_pop" in present:
        out["city_pop"] = floats("city_pop").astype("int64")
    if "dob" in present:
        out["dob"] = times("dob")
    for name in _TEXT_OPTIONAL:
        out[name] = text(column(name) if name in present else [None] * len(rows))
    if lean:
        return out
    out["unix_time"] = integers_or_na(
        floats("unix_time") if "unix_time" in present else None, len(rows), "Int64"
    )
    label = floats(LABEL_COLUMN) if LABEL_COLUMN in present else None
    if label is not None:
        label = np.where(np.isin(label, (0.0, 1.0)), label, np.nan)
    out[LABEL_COLUMN] = integers_or_na(label, len(rows), "Int8")
    if SCENARIO_COLUMN in present:
        out[SCENARIO_COLUMN] = text(column(SCENARIO_COLUMN))
    for name in columns:  # a missing required column still gets a (null) column
        if name not in out:
            out[name] = text([None] * len(rows))
    return out


@dataclass
class SmallBatch:
    """A small batch's valid records as plain column arrays, and its rejected records.

    Text columns are numpy object arrays; ``positions`` are the valid records' positions
    in the input. What scoring reads only: no clock text, ``unix_time``, label or scenario.
    """

    columns: dict[str, np.ndarray]
    positions: np.ndarray
    rejected: list[Rejection]


def _check_all(
    records: Sequence[Mapping[str, Any]],
) -> tuple[_Checker, list[dict[str, Any]], np.ndarray, list[Rejection]]:
    """Check every record: the checker, the valid rows' values, which are valid, rejections."""
    batch_columns = list(dict.fromkeys(key for record in records for key in record))
    checker = _Checker(batch_columns)
    valid_rows: list[dict[str, Any]] = []
    keep = np.zeros(len(records), dtype=bool)
    rejected: list[Rejection] = []
    for position, record in enumerate(records):
        errors, values = checker.check(record)
        if errors:
            rejected.append(Rejection(position, _raw_record(record, batch_columns), tuple(errors)))
        else:
            keep[position] = True
            valid_rows.append(values)
    return checker, valid_rows, keep, rejected


def validate_small_columns(records: Sequence[Mapping[str, Any]]) -> SmallBatch:
    """:func:`validate_small` without building a frame: the scoring path's fastest form."""
    checker, valid_rows, keep, rejected = _check_all(records)
    typed = _typed_columns(valid_rows, checker.present, [], text=object_array, lean=True)
    return SmallBatch(typed, np.flatnonzero(keep), rejected)


def validate_small(records: Sequence[Mapping[str, Any]]) -> ValidatedBatch:
    """Validate an :func:`eligible` batch value by value; same result as the vectorised path."""
    checker, valid_rows, keep, rejected = _check_all(records)
    columns = list(VALID_COLUMNS)
    if SCENARIO_COLUMN in checker.present:
        columns.append(SCENARIO_COLUMN)
    typed = _typed_columns(valid_rows, checker.present, columns)
    index = pd.RangeIndex(len(records))[keep]
    return ValidatedBatch(
        frame_from_columns({name: typed[name] for name in columns}, index), rejected
    )
