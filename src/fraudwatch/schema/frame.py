"""The vectorised engine: :data:`~fraudwatch.schema.fields.FIELDS` applied to a whole frame.

Every rule is applied to all rows at once with numpy/pandas, and validation never raises on
bad data: every record comes out either valid (typed, with ``event_time``) or rejected with
every problem named by field. This is the reference engine; the small-batch one
(:mod:`fraudwatch.schema.records`) must give the same result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fraudwatch.schema.fields import (
    EVENT_TIME,
    FIELDS,
    MISSING_COLUMN,
    MISSING_EVENT_COLUMN,
    MISSING_VALUE,
    PARSED_YEARS,
    SCENARIO_COLUMN,
    TEXT_CHECKED,
    UNSTORABLE_MESSAGE,
    VALID_COLUMNS,
    FieldSpec,
    Kind,
    has_unstorable,
    storable,
)
from fraudwatch.schema.results import (
    FieldError,
    Rejection,
    ValidatedBatch,
    dead_letter,
    integers_or_na,
)


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
    plausible = shaped & years.between(*PARSED_YEARS)
    parsed = pd.to_datetime(text.where(plausible), format="ISO8601", errors="coerce", utc=True)
    return parsed.dt.tz_convert(None).astype("datetime64[ns]")


def _within(spec: FieldSpec, values: Any) -> Any:
    """Where values lie within the field's bounds (False for NaN/NaT)."""
    inside = np.ones(len(values), dtype=bool)
    with np.errstate(invalid="ignore"):
        if spec.ge is not None:
            inside &= np.asarray(values >= _bound(spec.ge, values), dtype=bool)
        if spec.le is not None:
            inside &= np.asarray(values <= _bound(spec.le, values), dtype=bool)
        if spec.lt is not None:
            inside &= np.asarray(values < _bound(spec.lt, values), dtype=bool)
    return inside


def _bound(limit: float, values: Any) -> Any:
    """A bound in the values' own unit: epoch ms become a time for date-time values."""
    if isinstance(values, pd.Series) and values.dtype.kind == "M":
        return pd.Timestamp(int(limit), unit="ms")
    return limit


def _unstorable_text(frame: pd.DataFrame, problems: _Problems) -> pd.DataFrame:
    """Report text that cannot be stored, and hand on a frame where it is made storable.

    One scan of all the strings of a column finds the usual case (nothing) at C speed; an
    Arrow string column holds valid UTF-8 already, so only NUL is looked for there.
    """
    fixed: dict[str, pd.Series] = {}
    for name in TEXT_CHECKED:
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


def _as_frame(batch: pd.DataFrame | Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    if isinstance(batch, pd.DataFrame):
        return batch
    records = [dict(record) for record in batch]
    # object columns: each value is judged on its own, never by what its neighbours made
    # pandas infer (an int beside a float or a missing value would become "5.0")
    return pd.DataFrame(records, index=pd.RangeIndex(len(records)), dtype=object)


class _Run:
    """One frame being validated: the problems found and the typed columns made so far."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.n = len(frame)
        self.problems = _Problems(self.n)
        self.out: dict[str, Any] = {}
        self.event = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
        self.has_event_ms = np.zeros(self.n, dtype=bool)

    def required(self, spec: FieldSpec) -> tuple[pd.Series, np.ndarray] | None:
        """A required column and where it is blank (reported); None when it is absent."""
        if spec.name not in self.frame:
            self.problems.add(spec.name, np.ones(self.n, dtype=bool), MISSING_COLUMN)
            return None
        raw = self.frame[spec.name]
        blank = _is_blank(raw)
        self.problems.add(spec.name, blank, MISSING_VALUE)
        return raw, blank

    def text(self, spec: FieldSpec) -> None:
        if not spec.required:
            self.out[spec.name] = (
                _to_text(self.frame[spec.name])
                if spec.name in self.frame
                else pd.Series(pd.NA, index=self.frame.index, dtype="string")
            )
        elif (found := self.required(spec)) is not None:
            self.out[spec.name] = _to_text(found[0])

    def card(self, spec: FieldSpec) -> None:
        if (found := self.required(spec)) is not None:
            cards = self.out[spec.name] = _card_numbers(found[0])
            assert spec.pattern is not None
            shaped = cards.str.fullmatch(spec.pattern).fillna(False).to_numpy(dtype=bool)
            self.problems.add(spec.name, ~found[1] & ~shaped, spec.message)

    def choice(self, spec: FieldSpec) -> None:
        if (found := self.required(spec)) is not None:
            text = _to_text(found[0])
            text = self.out[spec.name] = text.str.upper() if spec.upper else text
            known = text.isin(spec.choices).to_numpy(dtype=bool)
            self.problems.add(spec.name, ~found[1] & ~known, spec.message)

    def number(self, spec: FieldSpec) -> None:
        if (found := self.required(spec)) is not None:
            value = self.out[spec.name] = _to_float(found[0])
            finite = np.isfinite(value)
            self.problems.add(spec.name, ~found[1] & ~finite, spec.message)
            self.problems.add(spec.name, finite & ~_within(spec, value), spec.out_of_bounds)

    def count(self, spec: FieldSpec) -> None:
        if (found := self.required(spec)) is not None:
            value = _to_float(found[0])
            with np.errstate(invalid="ignore"):  # inf % 1
                whole = np.isfinite(value) & (np.mod(value, 1) == 0) & _within(spec, value)
            self.problems.add(spec.name, ~found[1] & ~whole, spec.message)
            self.out[spec.name] = np.where(whole, value, 0).astype("int64")

    def integer(self, spec: FieldSpec) -> None:
        values: np.ndarray | None = None
        if spec.name in self.frame:
            raw = self.frame[spec.name]
            blank, values = _is_blank(raw), _to_float(raw)
            with np.errstate(invalid="ignore"):  # inf % 1
                ok = np.isfinite(values) & _within(spec, values)
                if spec.whole:
                    ok &= np.mod(values, 1) == 0
            self.problems.add(spec.name, ~blank & ~ok, spec.message)
            values = np.where(ok, values, np.nan)
        self.out[spec.name] = integers_or_na(values, self.n, spec.dtype)

    def tag(self, spec: FieldSpec) -> None:
        if spec.name in self.frame:
            self.out[spec.name] = _to_text(self.frame[spec.name]).fillna("")

    def event_ms(self, spec: FieldSpec) -> None:
        """Epoch ms: the event time wherever given (and valid)."""
        if spec.name not in self.frame:
            return
        raw = self.frame[spec.name]
        blank = _is_blank(raw)
        millis = _to_float(raw)
        ok = ~np.isnan(millis) & _within(spec, millis) & ~blank
        self.problems.add(spec.name, ~blank & ~ok, spec.message)
        self.has_event_ms = ~blank
        safe = np.where(ok, millis, 0).astype("int64")
        as_time = pd.to_datetime(safe, unit="ms").astype("datetime64[ns]")
        self.event = self.event.mask(ok, pd.Series(as_time, index=self.frame.index))

    def event_text(self, spec: FieldSpec) -> None:
        """The date-time text: the event time where no epoch ms were given."""
        name, problems, need = spec.name, self.problems, ~self.has_event_ms
        if name in self.frame:
            text_raw = self.frame[name]
            blank = _is_blank(text_raw)
            assert spec.pattern is not None
            parsed = _parse_times(_to_text(text_raw).where(~blank & need), spec.pattern)
            problems.add(name, need & ~blank & parsed.isna().to_numpy(), spec.message)
            problems.add(name, need & blank, MISSING_VALUE)
            outside = (parsed.notna() & ~_within(spec, parsed)).to_numpy(dtype=bool)
            problems.add(name, need & outside, spec.out_of_bounds)
            self.event = self.event.mask(need, parsed.mask(outside))
            self.out[name] = _to_text(text_raw)
        else:
            if not self.has_event_ms.all():
                problems.add(name, need, MISSING_EVENT_COLUMN)
            clock = self.event.dt.strftime("%Y-%m-%d %H:%M:%S")
            self.out[name] = pd.Series(clock, dtype="string")
        self.out[EVENT_TIME] = self.event

    def birth_date(self, spec: FieldSpec) -> None:
        if (found := self.required(spec)) is not None:
            assert spec.pattern is not None
            born = _parse_times(_to_text(found[0]).where(~found[1]), spec.pattern)
            self.out[spec.name] = born
            self.problems.add(spec.name, ~found[1] & born.isna().to_numpy(), spec.message)
            # NaT compares False: a date or an event time that is missing is not implausible
            early = born.notna().to_numpy() & ~_within(spec, born)
            implausible = early | (born > self.event).to_numpy(dtype=bool)
            self.problems.add(spec.name, implausible, spec.out_of_bounds)


#: How each kind is applied to a frame.
_APPLY: dict[Kind, Callable[[_Run, FieldSpec], None]] = {
    Kind.TEXT: _Run.text,
    Kind.CARD: _Run.card,
    Kind.CHOICE: _Run.choice,
    Kind.NUMBER: _Run.number,
    Kind.COUNT: _Run.count,
    Kind.INTEGER: _Run.integer,
    Kind.TAG: _Run.tag,
    Kind.EVENT_MS: _Run.event_ms,
    Kind.EVENT_TEXT: _Run.event_text,
    Kind.BIRTH_DATE: _Run.birth_date,
}


def validate_batch_vectorised(batch: pd.DataFrame | Sequence[Mapping[str, Any]]) -> ValidatedBatch:
    """Validate a batch with pandas, whatever its size: the reference implementation."""
    frame = _as_frame(batch)
    run = _Run(frame)
    run.frame = frame = _unstorable_text(frame, run.problems)
    for spec in FIELDS:
        _APPLY[spec.kind](run, spec)
    out = run.out
    columns = list(VALID_COLUMNS)
    if SCENARIO_COLUMN in out:
        columns.append(SCENARIO_COLUMN)
    for name in columns:  # a missing required column still gets a (null) column
        if name not in out:
            out[name] = pd.Series(pd.NA, index=frame.index, dtype="string")
    bad = run.problems.any_bad()
    typed = pd.DataFrame({name: _values(out[name]) for name in columns}, index=frame.index)
    rejected = [
        Rejection(row, dead_letter(dict(frame.iloc[row].items())), run.problems.errors_of(row))
        for row in np.flatnonzero(bad).tolist()
    ]
    return ValidatedBatch(valid=typed[~bad], rejected=rejected)


def _values(values: Any) -> Any:
    """Column values stripped of their index so that frame assembly aligns by position."""
    if isinstance(values, pd.Series):
        return values.array
    return values
