"""One small-batch rule everywhere: a batch of SMALL_BATCH rows is small, one more is not.

Each place that picks a small-batch path (validation of records and of frames, the scoring
service's column-array path, the feature code's per-row loops) is held to
:func:`fraudwatch.schema.is_small` at exactly the threshold and one above, and both of its
paths must give the same result there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fraudwatch import schema
from fraudwatch.features import merchants, online, static
from fraudwatch.features.online import OnlineFeatures
from fraudwatch.features.static import FeatureReference
from fraudwatch.pipeline.service import _small_records
from fraudwatch.schema import (
    CATEGORIES,
    SMALL_BATCH,
    is_small,
    validate_batch,
    validate_batch_vectorised,
    validate_small,
)
from tests.test_schema import CORRUPTIONS, RECORDS
from tests.test_schema_fast_path import _assert_same

SIZES = [SMALL_BATCH, SMALL_BATCH + 1]


def _batch(size: int) -> list[dict[str, Any]]:
    """``size`` records, every fifth one corrupted (so both outcomes are compared)."""
    batch = []
    for position in range(size):
        record = dict(RECORDS[position % len(RECORDS)], trans_num=f"t{position:04d}")
        if position % 5 == 0:
            field, value = CORRUPTIONS[position % len(CORRUPTIONS)]
            record[field] = value
        batch.append(record)
    return batch


@pytest.fixture
def engine_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The engines :func:`validate_batch` hands batches to, in call order."""
    calls: list[str] = []

    def spy(name: str, engine: Callable[..., Any]) -> Callable[..., Any]:
        def called(*args: Any) -> Any:
            calls.append(name)
            return engine(*args)

        return called

    monkeypatch.setattr(schema, "validate_small", spy("small", validate_small))
    monkeypatch.setattr(
        schema, "validate_batch_vectorised", spy("vectorised", validate_batch_vectorised)
    )
    yield calls


def test_the_rule() -> None:
    assert is_small(0) and is_small(SMALL_BATCH)
    assert not is_small(SMALL_BATCH + 1)


@pytest.mark.parametrize("size", SIZES)
def test_records_take_the_documented_engine_and_both_agree(
    size: int, engine_calls: list[str]
) -> None:
    batch = _batch(size)
    result = validate_batch(batch)
    assert engine_calls == ["small" if is_small(size) else "vectorised"]
    assert result.rejected and len(result.valid)
    _assert_same(validate_small(batch), validate_batch_vectorised(batch))


@pytest.mark.parametrize("size", SIZES)
def test_frames_take_the_documented_engine_and_both_agree(
    size: int, engine_calls: list[str]
) -> None:
    frame = pd.DataFrame(_batch(size), index=pd.RangeIndex(100, 100 + size), dtype=object)
    result = validate_batch(frame)
    assert engine_calls == ["small" if is_small(size) else "vectorised"]
    _assert_same(result, validate_batch_vectorised(frame))
    records = schema.frame_records(frame) if is_small(size) else _batch(size)
    assert records is not None
    small = validate_small(records)
    small.valid.index = frame.index[small.valid.index.to_numpy()]
    _assert_same(small, validate_batch_vectorised(frame))


@pytest.mark.parametrize("size", SIZES)
def test_the_scoring_service_takes_the_column_path_for_small_batches_only(size: int) -> None:
    batch = _batch(size)
    frame = pd.DataFrame(batch, dtype=object)
    if is_small(size):
        assert _small_records(batch) is batch
        assert _small_records(frame) is not None
    else:
        assert _small_records(batch) is None
        assert _small_records(frame) is None


@pytest.fixture
def pandas_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The pandas operations the feature code's large paths use, as they are called."""
    calls: list[str] = []
    factorize, series_map, series_eq = pd.factorize, pd.Series.map, pd.Series.__eq__

    def counted(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def called(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return function(*args, **kwargs)

        return called

    monkeypatch.setattr(pd, "factorize", counted("factorize", factorize))
    monkeypatch.setattr(pd.Series, "map", counted("map", series_map))
    monkeypatch.setattr(pd.Series, "__eq__", counted("eq", series_eq))
    return calls


def _feature_paths(size: int) -> dict[str, Callable[[], Any]]:
    """Each feature-code place that picks a path by size, run on ``size`` rows."""
    names = np.array([CATEGORIES[n % len(CATEGORIES)] for n in range(size)], dtype=object)
    gender = np.array(["M" if n % 3 else "F" for n in range(size)], dtype=object)
    tokens = np.array([f"card{n % 7}" for n in range(size)], dtype=object)
    merchant_names = pd.Series([f"merchant{n % 11}" for n in range(size)], dtype=object)
    reference = FeatureReference((0.0,) * len(CATEGORIES), (1.0,) * len(CATEGORIES), 0.005)
    return {
        "map": lambda: static.category_codes(names),
        "eq": lambda: static._is_male(gender),
        "factorize (cards)": lambda: OnlineFeatures(reference)._slots_for(tokens),
        "factorize (merchants)": lambda: merchants.MerchantLabels(0).codes(merchant_names),
    }


@pytest.mark.parametrize("size", SIZES)
def test_feature_code_takes_the_documented_path_and_both_agree(
    size: int, pandas_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    forced = not is_small(size)
    for operation, run in _feature_paths(size).items():
        pandas_calls.clear()
        taken = run()
        used_pandas = operation.split()[0] in pandas_calls
        assert used_pandas is not is_small(size), operation
        with monkeypatch.context() as patch:  # the other path, on the same rows
            for module in (static, online, merchants):
                patch.setattr(module, "is_small", lambda rows: forced)
            other_path = _feature_paths(size)[operation]
            pandas_calls.clear()
            other = other_path()
            assert (operation.split()[0] in pandas_calls) is is_small(size), operation
        np.testing.assert_array_equal(taken, other, err_msg=operation)
