"""The small-batch engine agrees with the vectorised one, value for value, on one set of rules."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from fraudwatch.schema import (
    FEED_COLUMNS,
    KAGGLE_COLUMNS,
    SCENARIO_COLUMN,
    SMALL_BATCH,
    ValidatedBatch,
    eligible,
    frame_records,
    validate_batch,
    validate_batch_vectorised,
)
from tests.test_schema import CORRUPTIONS, RECORDS

FIELDS = [*KAGGLE_COLUMNS, "current_time", SCENARIO_COLUMN]


def _digits(count: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=count, max_size=count)


#: Strings shaped like dates and date-times (often invalid ones), to exercise both parsers.
DATE_TIMES = st.builds(
    lambda year, month, day, clock, fraction, zone, sep, pad: (
        f"{pad}{year}-{month}-{day}{sep + clock if clock else ''}{fraction if clock else ''}"
        f"{zone if clock else ''}{pad}"
    ),
    year=st.sampled_from(
        ["1899", "1900", "1968", "1999", "2000", "2020", "2099", "2100", "2200", "2201", "0000"]
    )
    | st.integers(1990, 2030).map(str)
    | _digits(4),
    month=st.integers(1, 12).map("{:02d}".format) | st.sampled_from(["13", "00"]) | _digits(2),
    day=st.integers(1, 28).map("{:02d}".format)
    | st.sampled_from(["29", "30", "31", "32", "00"])
    | _digits(2),
    clock=st.none()
    | st.sampled_from(["00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "12:30"])
    | st.builds(
        "{:02d}:{:02d}:{:02d}".format, st.integers(0, 23), st.integers(0, 59), st.integers(0, 59)
    )
    | st.builds(lambda h, m, s: f"{h}:{m}:{s}", _digits(2), _digits(2), _digits(2)),
    fraction=st.sampled_from(["", "", ".5", ".123456", ".123456789", ".1234567891"]),
    zone=st.sampled_from(["", "", "Z", "+01:00", "-0530", "+99:99", "+1"]),
    sep=st.sampled_from([" ", "T", "t", "  "]),
    pad=st.sampled_from(["", " ", "\t"]),
)
NUMBER_TEXTS = st.sampled_from(
    ["12", " 12.5 ", "-0", "1e3", "1_000", "١٢", "nan", "inf", "-Infinity", "0x10", "1,5", "."]
)
#: test_schema's junk, with integers kept to int64 (larger ones take the vectorised path).
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
VALUES = st.one_of(
    JUNK,
    DATE_TIMES,
    NUMBER_TEXTS,
    st.sampled_from([c for _, c in CORRUPTIONS]),
    st.integers(1_000_000_000_000, 4_200_000_000_000),  # current_time-like milliseconds
    st.floats(-1e20, 1e20),
    st.sampled_from(["M", "f", " m ", "F\n", "x"]),
)
EDITS = st.lists(
    st.tuples(st.sampled_from(FIELDS), st.one_of(st.just("<drop>"), VALUES)), max_size=4
)


def _build(picks: list[tuple[int, bool, list[tuple[str, Any]]]]) -> list[dict[str, Any]]:
    batch = []
    for row, feed_shape, edits in picks:
        record = dict(RECORDS[row])
        if feed_shape:
            record = {k: record[k] for k in FEED_COLUMNS if k in record}
            record["current_time"] = 1_592_741_665_000 + row
        for field, value in edits:
            if value == "<drop>":
                record.pop(field, None)
            else:
                record[field] = value
        batch.append(record)
    return batch


def _assert_same(fast: ValidatedBatch, slow: ValidatedBatch) -> None:
    pd.testing.assert_frame_equal(fast.valid, slow.valid, check_exact=True, check_index_type=True)
    assert type(fast.valid.index) is type(slow.valid.index)
    assert [r.position for r in fast.rejected] == [r.position for r in slow.rejected]
    assert [r.errors for r in fast.rejected] == [r.errors for r in slow.rejected]
    assert [r.record for r in fast.rejected] == [r.record for r in slow.rejected]


@settings(
    max_examples=int(os.environ.get("FRAUDWATCH_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    picks=st.lists(
        st.tuples(st.integers(0, len(RECORDS) - 1), st.booleans(), EDITS),
        min_size=1,
        max_size=SMALL_BATCH,
    )
)
@example(picks=[(0, False, [])])
@example(picks=[(1, True, [("trans_date_trans_time", "<drop>")])])
@example(picks=[(2, False, [("zip", 29209)]), (3, False, [("zip", "<drop>")])])
@example(picks=[(4, False, [("amt", "<drop>")]), (5, True, [])])
def test_fast_path_equals_vectorised(picks: list[tuple[int, bool, list[tuple[str, Any]]]]) -> None:
    batch = _build(picks)
    assert eligible(batch)
    fast = validate_batch(batch)
    _assert_same(fast, validate_batch_vectorised(batch))
    event("some valid" if len(fast.valid) else "none valid")
    event("some rejected" if fast.rejected else "none rejected")


@pytest.mark.parametrize(("field", "value"), CORRUPTIONS)
def test_each_corruption_gives_the_same_result(field: str, value: Any) -> None:
    batch = [dict(RECORDS[3], **{field: value}), RECORDS[4]]
    _assert_same(validate_batch(batch), validate_batch_vectorised(batch))


def test_real_rows_take_the_fast_path_and_agree() -> None:
    batch = RECORDS[:SMALL_BATCH]
    assert eligible(batch)
    fast = validate_batch(batch)
    assert len(fast.valid) == len(batch) and not fast.rejected
    _assert_same(fast, validate_batch_vectorised(batch))


def test_unusual_batches_take_the_vectorised_path() -> None:
    assert not eligible(RECORDS[: SMALL_BATCH + 1])
    assert not eligible([dict(RECORDS[0], amt=pd.NA)])
    assert not eligible([dict(RECORDS[0], unix_time=2**70)])
    assert not eligible(pd.DataFrame(RECORDS[:2]))  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(
    event_time=DATE_TIMES,
    born=DATE_TIMES | st.dates(dt.date(1890, 1, 1), dt.date(2030, 1, 1)).map(str),
    shape=st.sampled_from("KF"),
)
def test_dates_parse_the_same(event_time: str, born: str, shape: str) -> None:
    """Date-time and date strings, mostly well-shaped, through both parsers."""
    record = dict(RECORDS[6], trans_date_trans_time=event_time, dob=born)
    if shape == "F":  # the feed shape: current_time decides, the text is only carried
        record["current_time"] = 1_592_741_665_123
    fast = validate_batch([record])
    _assert_same(fast, validate_batch_vectorised([record]))
    event("valid" if len(fast.valid) else "rejected")


@settings(max_examples=200, deadline=None)
@given(
    field=st.sampled_from(["amt", "lat", "cc_num", "city_pop", "unix_time", "is_fraud"]),
    value=NUMBER_TEXTS
    | st.floats()
    | st.integers(-(2**63), 2**63 - 1)
    | st.from_regex(r"\s?[+-]?\d{0,20}(\.\d{0,5})?([eE][+-]?\d{1,3})?\s?", fullmatch=True),
)
def test_numbers_parse_the_same(field: str, value: Any) -> None:
    batch = [dict(RECORDS[8], **{field: value}), dict(RECORDS[9])]
    fast = validate_batch(batch)
    _assert_same(fast, validate_batch_vectorised(batch))
    event("valid" if len(fast.valid) == 2 else "rejected")


#: What a UTF-8 CSV file can hold (a lone surrogate cannot be written to one).
IN_CSV = [str(c) for _, c in CORRUPTIONS if not any("\ud800" <= ch <= "\udfff" for ch in str(c))]
TEXT_VALUES = st.one_of(DATE_TIMES, NUMBER_TEXTS, st.text(max_size=12), st.just(""),
                        st.sampled_from(IN_CSV))  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    picks=st.lists(
        st.tuples(
            st.integers(0, len(RECORDS) - 1),
            st.lists(st.tuples(st.sampled_from(list(KAGGLE_COLUMNS)), TEXT_VALUES), max_size=3),
        ),
        min_size=1,
        max_size=SMALL_BATCH,
    ),
    offset=st.integers(0, 10_000),
)
def test_small_csv_chunks_take_the_scalar_path_with_the_same_result(
    picks: list[tuple[int, list[tuple[str, str]]]],
    offset: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A small chunk read from a CSV file (the pipeline's case) validates the same either way."""
    from fraudwatch.sources.csv_file import read_transactions

    rows = []
    for row, edits in picks:
        record = {k: ("" if v is None else str(v)) for k, v in RECORDS[row].items()}
        for field, value in edits:
            record[field] = value.replace("\n", " ").replace("\r", " ")
        rows.append(record)
    path = tmp_path_factory.mktemp("chunk") / "chunk.csv"
    pd.DataFrame(rows, index=pd.RangeIndex(offset, offset + len(rows))).to_csv(path, index_label="")
    frame = next(read_transactions(path))
    records = frame_records(frame)
    if records is None:  # a column pandas could not keep plain: the vectorised path anyway
        event("not eligible")
        return
    _assert_same(validate_batch(frame), validate_batch_vectorised(frame))
