"""A small frame's rows become the same plain records however its columns are stored.

:func:`fraudwatch.schema.frame_records` reads the frame's arrays directly (one
pyarrow call per text column) instead of building a Series per column; these tests hold
it equal to ``Series.tolist`` with pandas' NA and NaT as None, the form it replaced.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fraudwatch.schema import SMALL_BATCH, eligible, frame_records
from fraudwatch.sources.csv_file import read_transactions


def _reference(frame: pd.DataFrame) -> list[dict[str, Any]] | None:
    """The former conversion, column by column through pandas."""
    if len(frame) > SMALL_BATCH or not frame.columns.map(type).isin([str]).all():
        return None
    names = list(frame.columns)
    columns = [
        [None if value is pd.NA or value is pd.NaT else value for value in frame[name].tolist()]
        for name in names
    ]
    records = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    return records if eligible(records) else None


def _assert_same(frame: pd.DataFrame) -> None:
    actual, expected = frame_records(frame), _reference(frame)
    if expected is None:
        assert actual is None
        return
    assert actual is not None
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected, strict=True):
        assert list(got) == list(want)
        for name, value in want.items():
            if isinstance(value, float) and np.isnan(value):
                assert isinstance(got[name], float) and np.isnan(got[name]), name
            else:
                assert got[name] == value and type(got[name]) is type(value), name


def test_csv_rows_with_blanks_give_the_same_records(split_files: tuple[Path, Path]) -> None:
    chunk = next(read_transactions(split_files[1], limit=200))
    chunk.loc[chunk.index[3], "merchant"] = pd.NA
    chunk.loc[chunk.index[4], "amt"] = np.nan
    for start in range(0, 200, 9):
        _assert_same(chunk.iloc[start : start + 9])
    _assert_same(chunk.iloc[:64])
    assert frame_records(chunk.iloc[:65]) is None  # too many rows


@pytest.mark.parametrize(
    "column",
    [
        pd.array(["a", None, "c"], dtype="str"),  # pandas' default text (NaN as missing)
        pd.array(["a", None, "c"], dtype="string[pyarrow]"),
        pd.array(["a", None, "c"], dtype="string[python]"),
        np.array(["a", None, np.nan], dtype=object),
        np.array(["a", pd.NA, pd.NaT], dtype=object),
        np.array([1.5, np.nan, 3.0]),
        np.array([1, 2, 3], dtype=np.int32),
        np.array([True, False, True]),
        pd.array([1, None, 3], dtype="Int64"),
        pd.array([1.5, None, 3.0], dtype="Float64"),
        pd.Categorical(["x", None, "y"]),
        pd.to_datetime(["2020-01-01", None, "2020-01-03"]),
        np.array([np.int64(1), "b", 2.5], dtype=object),  # a numpy scalar: not plain
    ],
)
def test_every_column_storage_gives_the_same_records(column: Any) -> None:
    frame = pd.DataFrame({"trans_num": ["t1", "t2", "t3"], "value": column})
    _assert_same(frame)


def test_unusual_column_names_are_not_eligible() -> None:
    assert frame_records(pd.DataFrame({0: [1], "a": [2]})) is None
    repeated = pd.DataFrame([[1, 2]], columns=["a", "a"])
    assert frame_records(repeated) is None
