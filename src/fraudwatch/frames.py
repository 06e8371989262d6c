"""Building pandas frames cheaply from column arrays that are already what they should be.

``pd.DataFrame(dict_of_arrays)`` inspects, converts and copies every column (about 40 µs a
column), which dominates the cost of a one-transaction batch. The arrays built along the
scoring path already have their final dtypes, so :func:`frame_from_columns` hands them to
pandas as they are. A small batch may also travel as plain column arrays (a ``dict`` of
numpy arrays) instead of a frame: :func:`as_array` reads a column of either.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def frame_from_columns(columns: Mapping[str, Any], index: pd.Index) -> pd.DataFrame:
    """A frame over 1-D column arrays (numpy or pandas extension arrays), taken as they are.

    Every array must have ``len(index)`` values; object arrays stay object (pandas would
    otherwise turn text into its Arrow ``str`` dtype).
    """
    lengths = {len(values) for values in columns.values()}
    if lengths - {len(index)}:
        raise ValueError(f"column lengths {sorted(lengths)} differ from the index ({len(index)})")
    build = getattr(pd.DataFrame, "_from_arrays", None)
    if build is None:  # a pandas without the fast constructor: the public, slower one
        series = {
            name: pd.Series(values, index=index, dtype=values.dtype, copy=False)
            for name, values in columns.items()
        }
        return pd.DataFrame(series, index=index)
    frame: pd.DataFrame = build(
        list(columns.values()),
        columns=_column_index(tuple(columns)),
        index=index,
        verify_integrity=False,
    )
    return frame


def column_arrays(frame: pd.DataFrame) -> dict[str, Any]:
    """Each column's values (a numpy or pandas extension array) by name, no Series built.

    ``frame[name]`` builds a Series (about 10 µs a column), which is most of the cost of
    reading a few rows; the arrays under it are what the small-batch path reads. Column
    names must be distinct.
    """
    names = frame.columns.tolist()
    if len(set(names)) != len(names):
        raise ValueError("column names must be distinct")
    iterate = getattr(frame, "_iter_column_arrays", None)
    if iterate is None:  # a pandas without it: the public, slower way
        return {name: frame[name].array for name in names}
    return dict(zip(names, iterate(), strict=True))


def plain_values(values: Any, *, nan_as_none: bool = False) -> list[Any]:
    """A column's values as ``Series.tolist`` gives them, with pandas' NA and NaT as None
    (and float NaN too with ``nan_as_none``).

    Read from the array itself: Arrow text converts in one pyarrow call; numpy numbers and
    objects are listed as they are. Anything else (date-times, other extension arrays)
    goes through pandas.
    """
    if isinstance(values, pd.arrays.ArrowStringArray) and (
        nan_as_none or values.dtype.na_value is pd.NA
    ):
        return list(values.__arrow_array__().to_pylist())  # nulls as None
    kind = values.dtype.kind if isinstance(values, np.ndarray) else ""
    if kind in ("b", "i", "u") or (kind == "f" and not (nan_as_none and np.isnan(values).any())):
        return list(values.tolist())  # no missing marker to replace
    if nan_as_none:  # pandas' own test, vectorised: NaN, NA, NaT and None
        objects = np.array(values, dtype=object)  # a copy: the array may be a read-only view
        objects[pd.isna(objects)] = None
        return list(objects.tolist())
    listed = values.tolist() if kind == "O" else pd.Series(values, copy=False).tolist()
    return [None if value is pd.NA or value is pd.NaT else value for value in listed]


def object_array(values: list[Any]) -> np.ndarray:
    """Values as a 1-D numpy object array, as they are (no text or number inference)."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def as_array(values: Any, dtype: Any) -> np.ndarray:
    """A column — a pandas Series or array, or a numpy array — as a numpy array of ``dtype``."""
    if isinstance(values, np.ndarray):
        return values.astype(dtype, copy=False)
    return np.asarray(values.to_numpy(dtype=dtype))


@functools.lru_cache(maxsize=256)
def _column_index(names: tuple[str, ...]) -> pd.Index:
    """The column labels as pandas would make them, built once per set of names (immutable)."""
    return pd.Index(list(names))
