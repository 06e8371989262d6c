"""The transaction contract: Kaggle/Sparkov columns, the live-feed shape, and batch validation.

Validation is vectorised over a whole batch (a pandas frame or a list of dicts) and never
raises on bad data: every record comes out either in ``valid`` (typed, with ``event_time``)
or in ``rejected`` with every problem named by field, so nothing is dropped silently.
"""

from __future__ import annotations

import json
import math
import re
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
#: The absolute validity window of event times (either field), epoch ms: 2000-01-01 (included)
#: to 2100-01-01 (excluded). A record outside it is rejected whatever the stream's clock says.
EVENT_TIME_RANGE_MS = (946_684_800_000, 4_102_444_800_000)
CURRENT_TIME_MESSAGE = "must be epoch milliseconds between 2000 and 2100"
EVENT_TIME_WINDOW_MESSAGE = "must lie between 2000-01-01 and 2100-01-01 (UTC)"
_OLDEST_DOB = pd.Timestamp("1900-01-01")
_PAN_PATTERN = r"[0-9]{8,19}"  # ASCII digits: a PAN in other scripts is no PAN
_DATE_TIME_PATTERN = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
#: NUL (PostgreSQL text cannot hold it) and lone surrogates (not encodable as UTF-8): a value
#: with either cannot be stored, so its record is rejected (the dead letter shows U+FFFD).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "contains a NUL character or an unpaired surrogate (not storable text)"
#: Fields checked for unstorable text, in this order, before anything else.
_TEXT_CHECKED: tuple[str, ...] = (*KAGGLE_COLUMNS, "current_time", SCENARIO_COLUMN)
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
    if pd.api.types.is_float_dtype(series.dtype):  # per value: beyond int64 is no card either
        series = series.astype(object)
    if series.dtype == object:

        def one(value: Any) -> Any:
            if isinstance(value, bool | np.bool_) or value is None:
                return None
            if isinstance(value, float | np.floating):
                return str(int(value)) if value.is_integer() else None
            if isinstance(value, int | np.integer):
                return str(int(value))  # text now: a neighbour's NaN must not make it a float
            return value

        series = pd.Series([one(v) for v in series], index=series.index, dtype=object)
    return _to_text(series)


def _parse_times(text: pd.Series, pattern: str) -> pd.Series:
    """ISO dates/date-times as naive UTC datetime64[ns]; NaT where malformed or out of range."""
    shaped = text.str.fullmatch(pattern).fillna(False).astype(bool)
    years = pd.to_numeric(text.str.slice(0, 4).where(shaped), errors="coerce")
    plausible = shaped & years.between(1900, 2200)
    parsed = pd.to_datetime(text.where(plausible), format="ISO8601", errors="coerce", utc=True)
    return parsed.dt.tz_convert(None).astype("datetime64[ns]")


def storable(text: str) -> str:
    """``text`` with NUL and lone surrogates replaced by U+FFFD (the replacement character)."""
    return _UNSTORABLE.sub("\ufffd", text)


def has_unstorable(text: str) -> bool:
    """Whether ``text`` holds a NUL or a lone surrogate (see :data:`UNSTORABLE_MESSAGE`)."""
    return _UNSTORABLE.search(text) is not None


def _unstorable_text(frame: pd.DataFrame, problems: _Problems) -> pd.DataFrame:
    """Report text that cannot be stored, and hand on a frame where it is made storable.

    One scan of all the strings of a column finds the usual case (nothing) at C speed; an
    Arrow string column holds valid UTF-8 already, so only NUL is looked for there.
    """
    fixed: dict[str, pd.Series] = {}
    for name in _TEXT_CHECKED:
        if name not in frame:
            continue
        series = frame[name]
        if series.dtype == object:
            strings = [value for value in series if type(value) is str]
            if not strings or not has_unstorable("".join(strings)):
                continue
            checks = (type(value) is str and has_unstorable(value) for value in series)
            bad = np.fromiter(checks, bool, len(series))
            fixed[name] = series.map(lambda value: storable(value) if type(value) is str else value)
        elif pd.api.types.is_string_dtype(series.dtype):
            bad = series.str.contains("\x00", regex=False).fillna(False).to_numpy(dtype=bool)
            if not bad.any():
                continue
            fixed[name] = series.str.replace("\x00", "\ufffd", regex=False)
        else:
            continue
        problems.add(name, bad, UNSTORABLE_MESSAGE)
    return frame.assign(**fixed) if fixed else frame


def _json_safe(value: Any) -> Any:
    """A raw value in a form JSON can hold (for the dead letter)."""
    if isinstance(value, str):
        return storable(value)
    if value is None or isinstance(value, bool | int):
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
    # object columns: each value is judged on its own, never by what its neighbours made
    # pandas infer (an int beside a float or a missing value would become "5.0")
    return pd.DataFrame(records, index=pd.RangeIndex(len(records)), dtype=object)


def _event_times(frame: pd.DataFrame, problems: _Problems) -> pd.Series:
    """Event time: ``current_time`` (epoch ms) when present, else ``trans_date_trans_time``."""
    n = len(frame)
    event = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    has_current = np.zeros(n, dtype=bool)
    if "current_time" in frame:
        current_raw = frame["current_time"]
        blank = _is_blank(current_raw)
        millis = _to_float(current_raw)
        low, high = EVENT_TIME_RANGE_MS
        ok = ~np.isnan(millis) & (millis >= low) & (millis < high) & ~blank
        problems.add("current_time", ~blank & ~ok, CURRENT_TIME_MESSAGE)
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
        earliest, latest = (pd.Timestamp(limit, unit="ms") for limit in EVENT_TIME_RANGE_MS)
        in_window = (parsed >= earliest) & (parsed < latest)
        outside = (parsed.notna() & ~in_window).to_numpy(dtype=bool)
        problems.add("trans_date_trans_time", need & outside, EVENT_TIME_WINDOW_MESSAGE)
        event = event.mask(need, parsed.mask(outside))
    elif not has_current.all():
        problems.add(
            "trans_date_trans_time",
            ~has_current,
            "missing column (needed when current_time is absent)",
        )
    return event


def validate_batch(batch: pd.DataFrame | Sequence[Mapping[str, Any]]) -> ValidatedBatch:
    """Split a batch into typed valid records and rejections that name every bad field.

    A few plain records (an API call) are checked value by value instead
    (:mod:`fraudwatch.schema_scalar`: same rules, same result, no pandas overhead).
    """
    from fraudwatch import schema_scalar  # it builds on this module

    if isinstance(batch, pd.DataFrame):
        records = schema_scalar.frame_records(batch)
        if records is not None:
            result = schema_scalar.validate_small(records)
            result.valid.index = batch.index[result.valid.index.to_numpy()]
            return result
    elif schema_scalar.eligible(batch):
        return schema_scalar.validate_small(batch)
    return validate_batch_vectorised(batch)


def validate_batch_vectorised(batch: pd.DataFrame | Sequence[Mapping[str, Any]]) -> ValidatedBatch:
    """:func:`validate_batch` with pandas, whatever the size: the reference implementation."""
    frame = _as_frame(batch)
    n = len(frame)
    problems = _Problems(n)
    frame = _unstorable_text(frame, problems)
    out: dict[str, Any] = {}

    def column(name: str) -> tuple[pd.Series, np.ndarray] | None:
        """A required column and where it is blank (reported); None when it is absent."""
        if name not in frame:
            problems.add(name, np.ones(n, dtype=bool), "missing column")
            return None
        blank = _is_blank(frame[name])
        problems.add(name, blank, "missing value")
        return frame[name], blank

    out[EVENT_TIME] = _event_times(frame, problems)
    out["trans_date_trans_time"] = (
        _to_text(frame["trans_date_trans_time"])
        if "trans_date_trans_time" in frame
        else pd.Series(out[EVENT_TIME].dt.strftime("%Y-%m-%d %H:%M:%S"), dtype="string")
    )
    if (found := column("cc_num")) is not None:
        cards = out["cc_num"] = _card_numbers(found[0])
        well_formed = cards.str.fullmatch(_PAN_PATTERN).fillna(False).to_numpy(dtype=bool)
        problems.add("cc_num", ~found[1] & ~well_formed, "must be 8 to 19 digits")
    for name in _TEXT_REQUIRED:
        if (found := column(name)) is not None:
            out[name] = _to_text(found[0])
    if (found := column("category")) is not None:
        text = out["category"] = _to_text(found[0])
        known = text.isin(CATEGORIES).to_numpy(dtype=bool)
        message = f"unknown category (known: {', '.join(CATEGORIES)})"
        problems.add("category", ~found[1] & ~known, message)
    for name, limit in {"amt": None, **_COORDINATES}.items():
        if (found := column(name)) is not None:
            value = out[name] = _to_float(found[0])
            finite = np.isfinite(value)
            problems.add(name, ~found[1] & ~finite, "must be a number")
            if limit is None:
                problems.add(name, finite & (value < 0), "must be >= 0")
            else:
                out_of_range = finite & (np.abs(value) > limit)
                problems.add(name, out_of_range, f"out of range [-{limit:g}, {limit:g}]")
    if (found := column("city_pop")) is not None:
        value = _to_float(found[0])
        with np.errstate(invalid="ignore"):  # inf % 1
            whole = np.isfinite(value) & (np.mod(value, 1) == 0) & (value >= 0) & (value < 2**63)
        problems.add("city_pop", ~found[1] & ~whole, "must be a whole number >= 0")
        out["city_pop"] = np.where(whole, value, 0).astype("int64")
    if (found := column("gender")) is not None:
        text = out["gender"] = _to_text(found[0]).str.upper()
        male_or_female = text.isin(("M", "F")).to_numpy(dtype=bool)
        problems.add("gender", ~found[1] & ~male_or_female, "must be M or F")
    if (found := column("dob")) is not None:
        born = out["dob"] = _parse_times(_to_text(found[0]).where(~found[1]), _DATE_PATTERN)
        problems.add("dob", ~found[1] & born.isna().to_numpy(), "not a date (expected YYYY-MM-DD)")
        implausible = ((born < _OLDEST_DOB) | (born > out[EVENT_TIME])).fillna(False)
        message = "must lie between 1900 and the event time"
        problems.add("dob", implausible.to_numpy(dtype=bool), message)
    for name in _TEXT_OPTIONAL:
        out[name] = (
            _to_text(frame[name])
            if name in frame
            else pd.Series(pd.NA, index=frame.index, dtype="string")
        )
    seconds: np.ndarray | None = None
    if "unix_time" in frame:
        blank, seconds = _is_blank(frame["unix_time"]), _to_float(frame["unix_time"])
        problems.add(
            "unix_time", ~blank & ~np.isfinite(seconds), "must be a number (epoch seconds)"
        )
    out["unix_time"] = integers_or_na(seconds, n, "Int64")
    label: np.ndarray | None = None
    if LABEL_COLUMN in frame:
        blank, label = _is_blank(frame[LABEL_COLUMN]), _to_float(frame[LABEL_COLUMN])
        is_label = np.isin(label, (0.0, 1.0))
        problems.add(LABEL_COLUMN, ~blank & ~is_label, "must be 0 or 1 when given")
        label = np.where(is_label, label, np.nan)
    out[LABEL_COLUMN] = integers_or_na(label, n, "Int8")

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
        Rejection(int(row), _raw_record(frame, int(row)), problems.errors_of(int(row)))
        for row in np.flatnonzero(bad)
    ]
    return ValidatedBatch(valid=typed[~bad], rejected=rejected)


def integers_or_na(values: np.ndarray | None, n: int, dtype: str) -> Any:
    """Numbers as a nullable integer array, truncated; NA where not finite or out of range."""
    numbers = np.full(n, np.nan) if values is None else values
    limits = np.iinfo(dtype.lower())
    with np.errstate(invalid="ignore"):
        kept = np.isfinite(numbers) & (numbers >= limits.min) & (numbers < -float(limits.min))
    whole = np.trunc(np.where(kept, numbers, 0.0)).astype(dtype.lower())
    return pd.arrays.IntegerArray(whole, ~kept)


def _values(values: Any) -> Any:
    """Column values stripped of their index so that frame assembly aligns by position."""
    if isinstance(values, pd.Series):
        return values.array
    return values


def validate_record(record: Mapping[str, Any]) -> list[FieldError]:
    """Every problem with one record; an empty list means the record is valid."""
    result = validate_batch([record])
    return list(result.rejected[0].errors) if result.rejected else []
