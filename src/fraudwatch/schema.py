"""The transaction contract: Kaggle/Sparkov columns, the live-feed shape, and batch validation.

Validation is vectorised over a whole batch (a pandas frame or a list of dicts) and never
raises on bad data: every record comes out either in ``valid`` (typed, with ``event_time``)
or in ``rejected`` with every problem named by field, so nothing is dropped silently.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fraudwatch.privacy import mask_pan

#: Columns of fraudTrain.csv / fraudTest.csv, in file order (after the unnamed index column).
KAGGLE_COLUMNS: tuple[str, ...] = (
    "trans_date_trans_time", "cc_num", "merchant", "category", "amt", "first", "last",
    "gender", "street", "city", "state", "zip", "lat", "long", "city_pop", "job", "dob",
    "trans_num", "unix_time", "merch_lat", "merch_long", "is_fraud",
)  # fmt: skip
#: Columns of the Jedha ``/current-transactions`` feed, in its order.
FEED_COLUMNS: tuple[str, ...] = (
    "cc_num", "merchant", "category", "amt", "first", "last", "gender", "street", "city",
    "state", "zip", "lat", "long", "city_pop", "job", "dob", "trans_num", "merch_lat",
    "merch_long", "is_fraud", "current_time",
)  # fmt: skip
#: The fourteen merchant categories of the Sparkov generator.
CATEGORIES: tuple[str, ...] = (
    "entertainment", "food_dining", "gas_transport", "grocery_net", "grocery_pos",
    "health_fitness", "home", "kids_pets", "misc_net", "misc_pos", "personal_care",
    "shopping_net", "shopping_pos", "travel",
)  # fmt: skip
LABEL_COLUMN = "is_fraud"
#: Extra column our simulator writes: the fraud scenario of a fraudulent row, empty otherwise.
SCENARIO_COLUMN = "fraud_scenario"
EVENT_TIME = "event_time"

_TEXT_REQUIRED = ("merchant", "trans_num")
_TEXT_OPTIONAL = ("first", "last", "street", "city", "state", "zip", "job")
_COORDINATES = {"lat": 90.0, "long": 180.0, "merch_lat": 90.0, "merch_long": 180.0}
_CURRENT_TIME_RANGE_MS = (946_684_800_000, 4_102_444_800_000)  # 2000-01-01 .. 2100-01-01
_OLDEST_DOB = pd.Timestamp("1900-01-01")
_PAN_PATTERN = r"\d{8,19}"
_DATE_TIME_PATTERN = (
    r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?"
)
_DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"
#: Columns of a validated batch, in order; ``SCENARIO_COLUMN`` follows when the input has it.
VALID_COLUMNS: tuple[str, ...] = (EVENT_TIME, *KAGGLE_COLUMNS)


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of one record."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class Rejection:
    """A record set aside, with every reason; its card number is already masked."""

    position: int
    record: dict[str, Any]
    errors: tuple[FieldError, ...]

    @property
    def reason(self) -> str:
        """All problems in one line, e.g. ``"amt: must be >= 0; lat: out of range"``."""
        return "; ".join(str(error) for error in self.errors)

    @property
    def fields(self) -> set[str]:
        """Names of the fields that have a problem."""
        return {error.field for error in self.errors}


@dataclass
class ValidatedBatch:
    """A batch split in two: typed valid records and rejected ones with reasons."""

    valid: pd.DataFrame
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Records in the input batch."""
        return len(self.valid) + len(self.rejected)


class _Problems:
    """Collects per-row error masks, then turns only the bad rows into messages."""

    def __init__(self, n_rows: int) -> None:
        self.n_rows = n_rows
        self.checks: list[tuple[str, np.ndarray, str]] = []

    def add(self, field_name: str, bad: np.ndarray | pd.Series, message: str) -> None:
        mask = np.asarray(bad, dtype=bool)
        if mask.any():
            self.checks.append((field_name, mask, message))

    def any_bad(self) -> np.ndarray:
        bad = np.zeros(self.n_rows, dtype=bool)
        for _, mask, _ in self.checks:
            bad |= mask
        return bad

    def errors_of(self, row: int) -> tuple[FieldError, ...]:
        return tuple(FieldError(name, msg) for name, mask, msg in self.checks if mask[row])


def _is_blank(series: pd.Series) -> np.ndarray:
    """True where a value is missing or an empty/whitespace string."""
    blank = series.isna().to_numpy().copy()
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        text = series.astype("string").str.strip()
        blank |= (text == "").fillna(True).to_numpy(dtype=bool)
    return blank


def _to_float(series: pd.Series) -> np.ndarray:
    """Numbers as float64; NaN where a value is not a real number (bools included)."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return np.full(len(series), np.nan)
    if pd.api.types.is_numeric_dtype(series.dtype):
        return np.array(series.to_numpy(dtype="float64", na_value=np.nan), dtype="float64")

    def one(value: Any) -> float:
        if isinstance(value, bool) or value is None:
            return math.nan
        if isinstance(value, int | float | np.integer | np.floating):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return math.nan
        return math.nan

    try:
        numbers = pd.to_numeric(series, errors="coerce")
        values = np.array(numbers.to_numpy(dtype="float64", na_value=np.nan), dtype="float64")
    except (TypeError, ValueError):
        return np.array([one(v) for v in series], dtype="float64")
    if series.dtype == object:  # pd.to_numeric accepts True as 1: we do not
        is_bool = np.fromiter((isinstance(v, bool | np.bool_) for v in series), bool, len(series))
        values[is_bool] = np.nan
    return values


def _to_text(series: pd.Series) -> pd.Series:
    """Values as stripped strings (missing stays missing)."""
    return series.astype("string").str.strip()


def _card_numbers(series: pd.Series) -> pd.Series:
    """Card numbers as digit strings; integral floats are accepted, other floats are not."""
    if pd.api.types.is_float_dtype(series.dtype):
        integral = series.notna() & (series % 1 == 0)
        return series.where(integral).astype("Int64").astype("string")
    if series.dtype == object:

        def one(value: Any) -> Any:
            if isinstance(value, float):
                return str(int(value)) if value.is_integer() else None
            if isinstance(value, bool) or value is None:
                return None
            return value

        series = series.map(one)
    return _to_text(series)


def _parse_times(text: pd.Series, pattern: str) -> pd.Series:
    """ISO dates/date-times as naive UTC datetime64[ns]; NaT where malformed or out of range."""
    shaped = text.str.fullmatch(pattern).fillna(False).astype(bool)
    years = pd.to_numeric(text.str.slice(0, 4).where(shaped), errors="coerce")
    plausible = shaped & years.between(1900, 2200)
    parsed = pd.to_datetime(text.where(plausible), format="ISO8601", errors="coerce", utc=True)
    return parsed.dt.tz_convert(None).astype("datetime64[ns]")


def _json_safe(value: Any) -> Any:
    """A raw value in a form JSON can hold (for the dead letter)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)[:200]
    return value


def _raw_record(frame: pd.DataFrame, row: int) -> dict[str, Any]:
    """One input row as a JSON-safe dict with the card number masked."""
    record = {str(k): _json_safe(v) for k, v in frame.iloc[row].items()}
    if record.get("cc_num") is not None:
        record["cc_num"] = mask_pan(str(record["cc_num"]))
    return record


def _as_frame(batch: pd.DataFrame | Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    if isinstance(batch, pd.DataFrame):
        return batch
    records = [dict(record) for record in batch]
    return pd.DataFrame(records, index=pd.RangeIndex(len(records)))


def _event_times(frame: pd.DataFrame, problems: _Problems) -> pd.Series:
    """Event time: ``current_time`` (epoch ms) when present, else ``trans_date_trans_time``."""
    n = len(frame)
    event = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    has_current = np.zeros(n, dtype=bool)
    if "current_time" in frame:
        current_raw = frame["current_time"]
        blank = _is_blank(current_raw)
        millis = _to_float(current_raw)
        low, high = _CURRENT_TIME_RANGE_MS
        ok = ~np.isnan(millis) & (millis >= low) & (millis < high) & ~blank
        problems.add(
            "current_time", ~blank & ~ok, "must be epoch milliseconds between 2000 and 2100"
        )
        has_current = ~blank
        safe = np.where(ok, millis, 0).astype("int64")
        as_time = pd.to_datetime(safe, unit="ms").astype("datetime64[ns]")
        event = event.mask(ok, pd.Series(as_time, index=frame.index))
    if "trans_date_trans_time" in frame:
        text_raw = frame["trans_date_trans_time"]
        blank = _is_blank(text_raw)
        need = ~has_current
        parsed = _parse_times(_to_text(text_raw).where(~blank & need), _DATE_TIME_PATTERN)
        problems.add(
            "trans_date_trans_time",
            need & ~blank & parsed.isna().to_numpy(),
            "not a date-time (expected YYYY-MM-DD HH:MM:SS)",
        )
        problems.add("trans_date_trans_time", need & blank, "missing value")
        event = event.mask(need, parsed)
    elif not has_current.all():
        problems.add(
            "trans_date_trans_time",
            ~has_current,
            "missing column (needed when current_time is absent)",
        )
    return event


def validate_batch(batch: pd.DataFrame | Sequence[Mapping[str, Any]]) -> ValidatedBatch:
    """Split a batch into typed valid records and rejections that name every bad field."""
    frame = _as_frame(batch)
    n = len(frame)
    problems = _Problems(n)
    out: dict[str, Any] = {}

    def column(name: str, required: bool) -> pd.Series | None:
        if name in frame:
            return frame[name]
        if required:
            problems.add(name, np.ones(n, dtype=bool), "missing column")
        return None

    out[EVENT_TIME] = _event_times(frame, problems)
    out["trans_date_trans_time"] = (
        _to_text(frame["trans_date_trans_time"])
        if "trans_date_trans_time" in frame
        else pd.Series(out[EVENT_TIME].dt.strftime("%Y-%m-%d %H:%M:%S"), dtype="string")
    )

    raw = column("cc_num", required=True)
    if raw is not None:
        cards = _card_numbers(raw)
        blank = _is_blank(raw)
        problems.add("cc_num", blank, "missing value")
        well_formed = cards.str.fullmatch(_PAN_PATTERN).fillna(False).to_numpy(dtype=bool)
        problems.add("cc_num", ~blank & ~well_formed, "must be 8 to 19 digits")
        out["cc_num"] = cards

    for name in _TEXT_REQUIRED:
        raw = column(name, required=True)
        if raw is not None:
            problems.add(name, _is_blank(raw), "missing value")
            out[name] = _to_text(raw)

    raw = column("category", required=True)
    if raw is not None:
        blank = _is_blank(raw)
        text = _to_text(raw)
        known = text.isin(CATEGORIES).to_numpy(dtype=bool)
        problems.add("category", blank, "missing value")
        problems.add(
            "category", ~blank & ~known, f"unknown category (known: {', '.join(CATEGORIES)})"
        )
        out["category"] = text

    raw = column("amt", required=True)
    if raw is not None:
        blank = _is_blank(raw)
        amount = _to_float(raw)
        finite = np.isfinite(amount)
        problems.add("amt", blank, "missing value")
        problems.add("amt", ~blank & ~finite, "must be a number")
        problems.add("amt", finite & (amount < 0), "must be >= 0")
        out["amt"] = amount

    for name, limit in _COORDINATES.items():
        raw = column(name, required=True)
        if raw is not None:
            blank = _is_blank(raw)
            value = _to_float(raw)
            finite = np.isfinite(value)
            problems.add(name, blank, "missing value")
            problems.add(name, ~blank & ~finite, "must be a number")
            problems.add(
                name, finite & (np.abs(value) > limit), f"out of range [-{limit:g}, {limit:g}]"
            )
            out[name] = value

    raw = column("city_pop", required=True)
    if raw is not None:
        blank = _is_blank(raw)
        value = _to_float(raw)
        whole = np.isfinite(value) & (np.mod(value, 1) == 0) & (value >= 0)
        problems.add("city_pop", blank, "missing value")
        problems.add("city_pop", ~blank & ~whole, "must be a whole number >= 0")
        out["city_pop"] = np.where(whole, value, 0).astype("int64")

    raw = column("gender", required=True)
    if raw is not None:
        blank = _is_blank(raw)
        text = _to_text(raw).str.upper()
        problems.add("gender", blank, "missing value")
        problems.add(
            "gender", ~blank & ~text.isin(("M", "F")).to_numpy(dtype=bool), "must be M or F"
        )
        out["gender"] = text

    raw = column("dob", required=True)
    if raw is not None:
        blank = _is_blank(raw)
        born = _parse_times(_to_text(raw).where(~blank), _DATE_PATTERN)
        unparsed = born.isna().to_numpy()
        problems.add("dob", blank, "missing value")
        problems.add("dob", ~blank & unparsed, "not a date (expected YYYY-MM-DD)")
        implausible = (born < _OLDEST_DOB) | (born > out[EVENT_TIME])
        problems.add(
            "dob",
            implausible.fillna(False).to_numpy(dtype=bool),
            "must lie between 1900 and the event time",
        )
        out["dob"] = born

    for name in _TEXT_OPTIONAL:
        out[name] = (
            _to_text(frame[name])
            if name in frame
            else pd.Series(pd.NA, index=frame.index, dtype="string")
        )

    if "unix_time" in frame:
        raw = frame["unix_time"]
        blank = _is_blank(raw)
        value = _to_float(raw)
        problems.add("unix_time", ~blank & ~np.isfinite(value), "must be a number (epoch seconds)")
        out["unix_time"] = pd.array(
            np.where(np.isfinite(value), value, np.nan), dtype="Float64"
        ).astype("Int64")
    else:
        out["unix_time"] = pd.array([pd.NA] * n, dtype="Int64")

    if LABEL_COLUMN in frame:
        raw = frame[LABEL_COLUMN]
        blank = _is_blank(raw)
        value = _to_float(raw)
        problems.add(
            LABEL_COLUMN, ~blank & ~np.isin(value, (0.0, 1.0)), "must be 0 or 1 when given"
        )
        out[LABEL_COLUMN] = pd.array(
            np.where(np.isin(value, (0.0, 1.0)), value, np.nan), dtype="Float64"
        ).astype("Int8")
    else:
        out[LABEL_COLUMN] = pd.array([pd.NA] * n, dtype="Int8")

    columns = list(VALID_COLUMNS)
    if SCENARIO_COLUMN in frame:
        out[SCENARIO_COLUMN] = _to_text(frame[SCENARIO_COLUMN]).fillna("")
        columns.append(SCENARIO_COLUMN)

    for name in columns:  # a missing required column still gets a (null) column
        if name not in out:
            out[name] = pd.Series(pd.NA, index=frame.index, dtype="string")
    bad = problems.any_bad()
    typed = pd.DataFrame({name: _values(out[name]) for name in columns}, index=frame.index)
    rejected = [
        Rejection(
            position=int(row),
            record=_raw_record(frame, int(row)),
            errors=problems.errors_of(int(row)),
        )
        for row in np.flatnonzero(bad)
    ]
    return ValidatedBatch(valid=typed[~bad], rejected=rejected)


def _values(values: Any) -> Any:
    """Column values stripped of their index so that frame assembly aligns by position."""
    if isinstance(values, pd.Series):
        return values.array
    return values


def validate_record(record: Mapping[str, Any]) -> list[FieldError]:
    """Every problem with one record; an empty list means the record is valid."""
    result = validate_batch([record])
    return list(result.rejected[0].errors) if result.rejected else []
