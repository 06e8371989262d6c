"""The small-batch engine: :data:`~fraudwatch.schema.fields.FIELDS` applied value by value.

Vectorised validation (:mod:`fraudwatch.schema.frame`) costs milliseconds of pandas overhead
whatever the batch size, which is all of an API call's budget. For a small
(:func:`~fraudwatch.schema.fields.is_small`) list-of-dict batch of plain JSON values (str,
int, float, bool, None, list, dict) this engine applies the same declarations with the same
messages in plain Python and builds the same :class:`~fraudwatch.schema.results.ValidatedBatch`
(same columns, dtypes, values and index), in well under a millisecond.
``tests/test_schema_fast_path.py`` checks with hypothesis that both engines agree on valid,
corrupted and junk records. Anything unusual (numpy scalars, huge integers, non-string keys)
is left to the vectorised engine, which is the reference.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fraudwatch.frames import column_arrays, frame_from_columns, object_array, plain_values
from fraudwatch.schema.columns import typed_columns
from fraudwatch.schema.fields import (
    EVENT_TIME,
    FIELDS,
    MISSING_COLUMN,
    MISSING_EVENT_COLUMN,
    MISSING_VALUE,
    SCENARIO_COLUMN,
    TEXT_CHECKED,
    UNSTORABLE_MESSAGE,
    VALID_COLUMNS,
    FieldSpec,
    Kind,
    has_unstorable,
    is_small,
    storable,
)
from fraudwatch.schema.results import FieldError, Rejection, ValidatedBatch, dead_letter
from fraudwatch.schema.values import (
    NS_PER_MS,
    as_card,
    as_number,
    as_text,
    compiled,
    is_blank,
    parse_time_ns,
    within,
    within_ns,
)

_PLAIN_TYPES = frozenset({str, int, float, bool, type(None), list, dict})
_INT64 = 2**63


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]] | None:
    """The rows of a small frame as plain records for this engine, or None if not eligible.

    pandas' missing markers become None, as in a JSON record; anything not plain (numpy
    objects in an object column, huge integers) sends the batch to the vectorised engine.
    """
    if not is_small(len(frame)):
        return None
    names = frame.columns.tolist()
    if any(type(name) is not str for name in names) or len(set(names)) < len(names):
        return None
    columns = [plain_values(values) for values in column_arrays(frame).values()]
    records = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    return records if eligible(records) else None


def eligible(records: Sequence[Any]) -> bool:
    """Whether a batch can take this engine: a small list of dicts of plain JSON values."""
    if not isinstance(records, list | tuple) or not is_small(len(records)):
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


class _Checker:
    """Checks one record after another against the columns present in the batch."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.present = frozenset(columns)
        self.record: Mapping[str, Any] = {}
        self.errors: list[FieldError] = []
        self.values: dict[str, Any] = {}
        self.event_ns: int | None = None
        self.has_event_ms = False
        self.plan, loose_text = _plan(FIELDS)
        self.loose_text = [name for name in loose_text if name in self.present]

    def check(self, record: Mapping[str, Any]) -> tuple[list[FieldError], dict[str, Any]]:
        """Every problem of one record, in the order the vectorised engine reports them."""
        self.errors, self.values = [], {}
        self.event_ns, self.has_event_ms = None, False
        if has_unstorable("".join(value for value in record.values() if type(value) is str)):
            record = dict(record)
            for name in TEXT_CHECKED:
                value = record.get(name)
                if name in self.present and type(value) is str and has_unstorable(value):
                    self.add(name, UNSTORABLE_MESSAGE)
                    record[name] = storable(value)
        self.record = record
        for check, spec in self.plan:
            check(self, spec)
        values = self.values
        for name in self.loose_text:
            values[name] = as_text(record.get(name))
        values[EVENT_TIME] = self.event_ns
        return self.errors, self.values

    def add(self, name: str, message: str) -> None:
        self.errors.append(FieldError(name, message))

    def required(self, spec: FieldSpec) -> tuple[bool, Any]:
        """The raw value of a required field and whether it is there to check further.

        A missing column or a blank value is reported here (and is not there to check).
        """
        if spec.name not in self.present:
            self.add(spec.name, MISSING_COLUMN)
            return False, None
        raw = self.record.get(spec.name)
        if is_blank(raw):
            self.add(spec.name, MISSING_VALUE)
            return False, raw
        return True, raw

    def text(self, spec: FieldSpec) -> None:
        name = spec.name
        if name in self.present:
            self.values[name] = as_text(self.record.get(name))
            if spec.required:
                self.required(spec)
        elif spec.required:
            self.add(name, MISSING_COLUMN)

    def card(self, spec: FieldSpec) -> None:
        given, raw = self.required(spec)
        if spec.name in self.present:
            card = self.values[spec.name] = as_card(raw)
            if given and (card is None or not compiled(spec.pattern or "").fullmatch(card)):
                self.add(spec.name, spec.message)

    def choice(self, spec: FieldSpec) -> None:
        given, raw = self.required(spec)
        if spec.name in self.present:
            text = as_text(raw)
            if spec.upper and text is not None:
                text = text.upper()
            self.values[spec.name] = text
            if given and text not in spec.choices:
                self.add(spec.name, spec.message)

    def number(self, spec: FieldSpec) -> None:
        given, raw = self.required(spec)
        if spec.name in self.present:
            value = self.values[spec.name] = as_number(raw)
            if not given:
                pass
            elif not math.isfinite(value):
                self.add(spec.name, spec.message)
            elif not within(spec, value):
                self.add(spec.name, spec.out_of_bounds)

    def count(self, spec: FieldSpec) -> None:
        given, raw = self.required(spec)
        if spec.name in self.present:
            value = self.values[spec.name] = as_number(raw)
            if given and not (math.isfinite(value) and value % 1 == 0 and within(spec, value)):
                self.add(spec.name, spec.message)

    def integer(self, spec: FieldSpec) -> None:
        if spec.name in self.present:
            raw = self.record.get(spec.name)
            value = as_number(raw)
            ok = math.isfinite(value) and within(spec, value)
            if ok and spec.whole:
                ok = value % 1 == 0
            if not ok and not is_blank(raw):
                self.add(spec.name, spec.message)
            self.values[spec.name] = value if ok else math.nan

    def tag(self, spec: FieldSpec) -> None:
        if spec.name in self.present:
            self.values[spec.name] = as_text(self.record.get(spec.name)) or ""

    def event_ms(self, spec: FieldSpec) -> None:
        """Epoch ms: the event time when given (and valid)."""
        if spec.name not in self.present:
            return
        raw = self.record.get(spec.name)
        blank = is_blank(raw)
        millis = as_number(raw)
        ok = not blank and within(spec, millis)
        if not blank and not ok:
            self.add(spec.name, spec.message)
        self.has_event_ms = not blank
        if ok:
            self.event_ns = int(millis) * NS_PER_MS

    def event_text(self, spec: FieldSpec) -> None:
        """The date-time text: the event time when no epoch ms were given."""
        name = spec.name
        if name not in self.present:
            if not self.has_event_ms:
                self.add(name, MISSING_EVENT_COLUMN)
            return
        raw = self.record.get(name)
        self.values[name] = as_text(raw)
        if self.has_event_ms:
            return
        if is_blank(raw):
            self.add(name, MISSING_VALUE)
            return
        assert spec.pattern is not None
        event_ns = parse_time_ns(as_text(raw), spec.pattern)
        if event_ns is None:
            self.add(name, spec.message)
        elif not within_ns(spec, event_ns):
            self.add(name, spec.out_of_bounds)
            event_ns = None
        self.event_ns = event_ns

    def birth_date(self, spec: FieldSpec) -> None:
        present, raw = self.required(spec)
        if present:
            assert spec.pattern is not None
            blank = is_blank(raw)
            born = self.values[spec.name] = (
                None if blank else parse_time_ns(as_text(raw), spec.pattern)
            )
            if blank:
                pass
            elif born is None:
                self.add(spec.name, spec.message)
            elif not within_ns(spec, born) or (self.event_ns is not None and born > self.event_ns):
                self.add(spec.name, spec.out_of_bounds)


_Check = Callable[[_Checker, FieldSpec], None]
#: How each kind is checked in one record.
_CHECK: dict[Kind, _Check] = {
    Kind.TEXT: _Checker.text,
    Kind.CARD: _Checker.card,
    Kind.CHOICE: _Checker.choice,
    Kind.NUMBER: _Checker.number,
    Kind.COUNT: _Checker.count,
    Kind.INTEGER: _Checker.integer,
    Kind.TAG: _Checker.tag,
    Kind.EVENT_MS: _Checker.event_ms,
    Kind.EVENT_TEXT: _Checker.event_text,
    Kind.BIRTH_DATE: _Checker.birth_date,
}


#: The last declarations compiled, and their plan (a kind is looked up once per set of
#: declarations, not once per value): each field's check in order, except optional text,
#: which has no rule to report on and is read in one loop (the names).
_compiled: list[Any] = [None, ((), ())]
_Plan = tuple[tuple[tuple[_Check, FieldSpec], ...], tuple[str, ...]]


def _plan(fields: tuple[FieldSpec, ...]) -> _Plan:
    if _compiled[0] is not fields:
        loose = [spec.kind is Kind.TEXT and not spec.required for spec in fields]
        checks = tuple(
            (_CHECK[s.kind], s) for s, free in zip(fields, loose, strict=True) if not free
        )
        names = tuple(s.name for s, free in zip(fields, loose, strict=True) if free)
        _compiled[:] = [fields, (checks, names)]
    plan: _Plan = _compiled[1]
    return plan


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
            kept = {name: record.get(name) for name in batch_columns}
            rejected.append(Rejection(position, dead_letter(kept), tuple(errors)))
        else:
            keep[position] = True
            valid_rows.append(values)
    return checker, valid_rows, keep, rejected


def validate_small_columns(records: Sequence[Mapping[str, Any]]) -> SmallBatch:
    """:func:`validate_small` without building a frame: the scoring path's fastest form."""
    checker, valid_rows, keep, rejected = _check_all(records)
    typed = typed_columns(valid_rows, checker.present, [], text=object_array, lean=True)
    return SmallBatch(typed, np.flatnonzero(keep), rejected)


def validate_small(records: Sequence[Mapping[str, Any]]) -> ValidatedBatch:
    """Validate an :func:`eligible` batch value by value; same result as the vectorised engine."""
    checker, valid_rows, keep, rejected = _check_all(records)
    columns = list(VALID_COLUMNS)
    if SCENARIO_COLUMN in checker.present:
        columns.append(SCENARIO_COLUMN)
    typed = typed_columns(valid_rows, checker.present, columns)
    index = pd.RangeIndex(len(records))[keep]
    return ValidatedBatch(
        frame_from_columns({name: typed[name] for name in columns}, index), rejected
    )
