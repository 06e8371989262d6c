"""One plain value read the way the vectorised engine reads a whole column.

The small-batch engine (:mod:`fraudwatch.schema.records`) must come to the very same
values as pandas does (text stripped as Arrow strips it, numbers parsed by pandas' own
parser, dates by the same patterns and year window), so that both engines agree.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from typing import Any

import pandas as pd

from fraudwatch.schema.fields import PARSED_YEARS, FieldSpec

NS_PER_MS = 1_000_000
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
#: The shapes parsed here directly; other ISO 8601 forms go to pandas' own parser.
_SIMPLE_TIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T]([0-9]{2}):([0-9]{2}):([0-9]{2}))?"
)


def as_text(value: Any) -> str | None:
    """``astype("string").str.strip()`` of one value (Python's whitespace = Arrow's)."""
    kind = type(value)
    if kind is str:
        return value.strip()  # type: ignore[no-any-return]
    if value is None or (kind is float and value != value):  # missing, as pandas' isna
        return None
    return str(value).strip()


def is_blank(value: Any) -> bool:
    """Missing (as pandas' ``isna``), or a string of whitespace only."""
    kind = type(value)
    if kind is str:
        return not value.strip()
    return value is None or (kind is float and value != value)


def as_number(value: Any) -> float:
    """A value as float; NaN when it is not a real number (bools included)."""
    kind = type(value)
    if kind is float or kind is int:
        return float(value)
    if kind is str:  # pandas' own number parser, as the vectorised engine uses
        parsed = pd.to_numeric(value, errors="coerce")
        return math.nan if pd.isna(parsed) else float(parsed)
    return math.nan


def as_card(value: Any) -> str | None:
    """A card number as digits text; integral floats are accepted, other floats are not."""
    kind = type(value)
    if kind is float:
        return str(int(value)) if value.is_integer() else None
    if kind is bool or value is None:
        return None
    return as_text(value)


@functools.cache
def compiled(pattern: str) -> re.Pattern[str]:
    """A declared pattern, compiled once."""
    return re.compile(pattern)


def within(spec: FieldSpec, value: float) -> bool:
    """Whether a number lies within the field's bounds (False for NaN)."""
    return (
        (spec.ge is None or value >= spec.ge)
        and (spec.le is None or value <= spec.le)
        and (spec.lt is None or value < spec.lt)
    )


def within_ns(spec: FieldSpec, ns: int) -> bool:
    """:func:`within` for a time in epoch ns against bounds in epoch ms, exactly."""
    return (
        (spec.ge is None or ns >= int(spec.ge) * NS_PER_MS)
        and (spec.le is None or ns <= int(spec.le) * NS_PER_MS)
        and (spec.lt is None or ns < int(spec.lt) * NS_PER_MS)
    )


def parse_time_ns(text: str | None, pattern: str) -> int | None:
    """An ISO date/date-time as naive-UTC epoch nanoseconds; None when malformed."""
    low, high = PARSED_YEARS
    if text is None or not compiled(pattern).fullmatch(text) or not low <= int(text[:4]) <= high:
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
    return seconds * 1_000_000_000
