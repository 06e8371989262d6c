"""The small-batch engine's output: valid rows' values as columns with the frame engine's dtypes.

What each column becomes follows from its field's :class:`~fraudwatch.schema.fields.Kind`;
the plan is worked out once per set of declarations, since this runs on every API call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from fraudwatch.schema.fields import EVENT_TIME, FIELDS, FieldSpec, Kind
from fraudwatch.schema.results import integers_or_na

#: What a column is built as: text, float64, int64, datetime64[ns] or a nullable integer;
#: the date-time text (given, or the clock's); nothing (epoch ms become the event time).
_TEXT, _FLOAT, _INT, _TIME, _NULLABLE, _CLOCK, _NONE = range(7)
_BUILT_AS = {
    Kind.TEXT: _TEXT, Kind.CARD: _TEXT, Kind.CHOICE: _TEXT, Kind.TAG: _TEXT,
    Kind.NUMBER: _FLOAT, Kind.COUNT: _INT, Kind.BIRTH_DATE: _TIME, Kind.INTEGER: _NULLABLE,
    Kind.EVENT_TEXT: _CLOCK, Kind.EVENT_MS: _NONE,
}  # fmt: skip
#: Kinds whose columns scoring never reads (left out of the lean form).
_NOT_SCORED = frozenset({Kind.EVENT_TEXT, Kind.INTEGER, Kind.TAG})
#: (name, built as, filled with nulls when absent, scored, nullable integer dtype)
_Plan = tuple[tuple[str, int, bool, bool, str], ...]
_compiled: list[Any] = [None, ()]


def _plan(fields: tuple[FieldSpec, ...]) -> _Plan:
    if _compiled[0] is not fields:
        plan = tuple(
            (
                spec.name,
                _BUILT_AS[spec.kind],
                spec.kind is Kind.TEXT and not spec.required,
                spec.kind not in _NOT_SCORED,
                spec.dtype,
            )
            for spec in fields
        )
        _compiled[:] = [fields, plan]
    built: _Plan = _compiled[1]
    return built


def strings(values: Sequence[str | None]) -> pd.api.extensions.ExtensionArray:
    """Text values as pandas' ``string`` dtype (Arrow-backed, NA for None), built directly."""
    return pd.arrays.ArrowStringArray(pa.array(values, type=pa.large_string()))


def _clock_text(event_ns: int) -> str:
    """``YYYY-MM-DD HH:MM:SS`` of epoch nanoseconds (the strftime the vectorised engine uses)."""
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=event_ns // 1000)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def typed_columns(
    rows: list[dict[str, Any]],
    present: frozenset[str],
    columns: list[str],
    *,
    text: Callable[[list[Any]], Any] = strings,
    lean: bool = False,
) -> dict[str, Any]:
    """The valid rows' values as columns with the vectorised engine's dtypes.

    ``text`` builds text columns (pandas ``string`` by default); ``lean`` leaves out what
    scoring never reads (the clock text, ``unix_time``, the label and the scenario), and
    ``columns`` are filled with nulls when no field made them.
    """

    def column(name: str) -> list[Any]:
        return [row[name] for row in rows]

    def floats(name: str) -> np.ndarray:
        return np.array(column(name), dtype=np.float64)

    def times(name: str) -> np.ndarray:
        return np.array(column(name), dtype=np.int64).view("datetime64[ns]")

    n = len(rows)
    out: dict[str, Any] = {EVENT_TIME: times(EVENT_TIME)}
    for name, built_as, filled, scored, dtype in _plan(FIELDS):
        if lean and not scored:
            continue
        here = name in present
        if built_as == _CLOCK:
            clock = column(name) if here else [_clock_text(row[EVENT_TIME]) for row in rows]
            out[name] = text(clock)
        elif built_as == _NULLABLE:
            out[name] = integers_or_na(floats(name) if here else None, n, dtype)
        elif not here:
            if filled:
                out[name] = text([None] * n)
            # else a missing required column: null, below (no row is valid anyway)
        elif built_as == _TEXT:
            out[name] = text(column(name))
        elif built_as == _FLOAT:
            out[name] = floats(name)
        elif built_as == _INT:
            out[name] = floats(name).astype("int64")
        elif built_as == _TIME:
            out[name] = times(name)
    for name in columns:  # a missing required column still gets a (null) column
        if name not in out:
            out[name] = text([None] * n)
    return out
