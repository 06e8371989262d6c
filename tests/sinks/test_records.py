"""The store's column conversion reads a frame's arrays directly, with pandas' own results.

:func:`fraudwatch.sinks.records.decision_columns` skips pandas' per-column Series for the
arrays the scoring path builds; these tests hold it equal to the plain pandas conversion
it replaced (kept below as the reference) for every dtype a decisions frame may carry.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fraudwatch.decision import DECISION_COLUMNS
from fraudwatch.sinks.records import decision_columns
from tests.sinks.factories import synthetic_decisions


def _reference(decisions: pd.DataFrame, times_as_text: bool) -> dict[str, list[Any]]:
    """The former pandas-only conversion: dedupe by trans_num (last wins), then each column."""
    frame = decisions.loc[:, list(DECISION_COLUMNS)]
    duplicated = frame["trans_num"].astype(str).duplicated(keep="last").to_numpy()
    frame = frame.loc[~duplicated].reset_index(drop=True)
    out: dict[str, list[Any]] = {}
    for name in DECISION_COLUMNS:
        series = frame[name]
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            if isinstance(series.dtype, pd.DatetimeTZDtype):
                series = series.dt.tz_convert("UTC").dt.tz_localize(None)
            times = series.to_numpy(dtype="datetime64[us]")
            if times_as_text:
                text = np.char.replace(np.datetime_as_string(times, unit="us"), "T", " ")
                values = text.astype(object)
                values[np.isnat(times)] = None
                out[name] = values.tolist()
            else:
                out[name] = times.astype(object).tolist()
        elif name == "decision":
            out[name] = series.fillna(0).to_numpy(dtype=np.int64).tolist()
        elif name == "reasons":
            out[name] = [
                value
                if isinstance(value, str)
                else "[]"
                if value is None or (isinstance(value, float) and np.isnan(value))
                else json.dumps([str(reason) for reason in value])
                for value in series.to_numpy(dtype=object).tolist()
            ]
        elif pd.api.types.is_float_dtype(series.dtype):
            numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
            values = numbers.astype(object)
            values[np.isnan(numbers)] = None
            out[name] = values.tolist()
        else:
            values = series.to_numpy(dtype=object, copy=True)
            values[series.isna().to_numpy(dtype=bool)] = None
            out[name] = values.tolist()
    return out


def _assert_same(actual: dict[str, list[Any]], expected: dict[str, list[Any]]) -> None:
    assert list(actual) == list(expected)
    for name, values in expected.items():
        assert actual[name] == values, name
        assert [type(value) for value in actual[name]] == [type(value) for value in values], name


def _object_frame(n: int) -> pd.DataFrame:
    """The scoring path's form: numpy object / float / int arrays, no pandas text dtype."""
    frame = synthetic_decisions(n, seed=3)
    columns = {}
    for name in DECISION_COLUMNS:
        values = frame[name].to_numpy()
        if values.dtype.kind not in "fiM":
            values = np.array(frame[name].to_numpy(dtype=object, na_value=None), dtype=object)
        columns[name] = values
    from fraudwatch.frames import frame_from_columns

    return frame_from_columns(columns, pd.RangeIndex(n))


def _variants() -> dict[str, pd.DataFrame]:
    objects = _object_frame(12)
    objects.loc[2, "state"] = np.nan
    objects.loc[3, "merchant"] = pd.NA
    objects.loc[4, "reasons"] = None
    objects.loc[5, "reasons"] = ["a", "b"]
    with_nan = objects.copy()
    with_nan["amount"] = with_nan["amount"].astype(np.float32)
    with_nan.loc[1, "latency_ms"] = np.nan
    with_nan.loc[6, "fraud_probability"] = np.nan
    flagged = objects.copy()
    flagged["decision"] = flagged["decision"].astype(bool)
    float_decision = objects.copy()
    float_decision["decision"] = float_decision["decision"].astype(float)
    float_decision.loc[7, "decision"] = np.nan
    aware = objects.copy()
    aware["event_time"] = aware["event_time"].dt.tz_localize("Europe/Paris")
    nanoseconds = objects.copy()
    nanoseconds["event_time"] = nanoseconds["event_time"].astype("datetime64[ns]")
    nanoseconds.loc[8, "event_time"] = pd.NaT
    text = synthetic_decisions(12, seed=5)  # pandas' str (Arrow) text columns
    text.loc[1, "state"] = None
    arrow = text.astype({"merchant": "string[pyarrow]", "reasons": "string[pyarrow]"})
    arrow.loc[2, "merchant"] = pd.NA
    repeated = pd.concat([objects, objects.iloc[[3, 0, 3]]], ignore_index=True)
    repeated.loc[len(objects) + 2, "amount"] = 1.5  # the later row of a repeat wins
    extra = objects.assign(extra=1).rename(columns={"extra": "decision_note"})
    extra = pd.concat([extra, extra[["decision_note"]]], axis=1)  # a repeated extra name
    return {
        "objects": objects,
        "missing numbers": with_nan,
        "bool decision": flagged,
        "float decision": float_decision,
        "aware times": aware,
        "nanosecond times": nanoseconds,
        "str text": text,
        "arrow text": arrow,
        "repeated keys": repeated,
        "repeated extra column": extra,
    }


@pytest.mark.parametrize("times_as_text", [True, False])
@pytest.mark.parametrize("variant", list(_variants()))
def test_columns_equal_the_pandas_conversion(variant: str, times_as_text: bool) -> None:
    decisions = _variants()[variant]
    _assert_same(
        decision_columns(decisions, times_as_text=times_as_text),
        _reference(decisions, times_as_text),
    )


def test_repeated_keys_keep_their_last_row_in_first_seen_order() -> None:
    decisions = _object_frame(4)
    repeated = pd.concat([decisions, decisions.iloc[[1]]], ignore_index=True)
    repeated.loc[4, "amount"] = 99.0
    columns = decision_columns(repeated)
    keys = decisions["trans_num"].tolist()
    assert columns["trans_num"] == [keys[0], keys[2], keys[3], keys[1]]
    assert columns["amount"][-1] == 99.0


def test_rows_without_trans_num_and_missing_columns_are_refused() -> None:
    decisions = _object_frame(3)
    decisions.loc[1, "trans_num"] = None
    with pytest.raises(ValueError, match="without trans_num"):
        decision_columns(decisions)
    with pytest.raises(ValueError, match="lacks columns: card_token"):
        decision_columns(_object_frame(2).drop(columns=["card_token"]))
    assert decision_columns(_object_frame(0)) == {name: [] for name in DECISION_COLUMNS}
