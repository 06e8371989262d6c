"""The transaction contract: Kaggle/Sparkov columns, the live-feed shape, and batch validation.

The rules are declared once, in :mod:`fraudwatch.schema.fields`; two engines apply them:
:mod:`~fraudwatch.schema.frame` vectorised over a frame (the reference), and
:mod:`~fraudwatch.schema.records` value by value for a small batch of plain records (no
pandas overhead, same result). :func:`validate_batch` picks one. Validation never raises on
bad data: every record comes out either in ``valid`` (typed, with ``event_time``) or in
``rejected`` with every problem named by field, so nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from fraudwatch.schema.fields import (
    CATEGORIES,
    CURRENT_TIME_MESSAGE,
    EVENT_TIME,
    EVENT_TIME_RANGE_MS,
    EVENT_TIME_WINDOW_MESSAGE,
    FEED_COLUMNS,
    FIELDS,
    FIELDS_BY_NAME,
    KAGGLE_COLUMNS,
    LABEL_COLUMN,
    SCENARIO_COLUMN,
    SMALL_BATCH,
    UNSTORABLE_MESSAGE,
    VALID_COLUMNS,
    FieldSpec,
    Kind,
    has_unstorable,
    is_small,
    storable,
)
from fraudwatch.schema.frame import validate_batch_vectorised
from fraudwatch.schema.records import (
    SmallBatch,
    eligible,
    frame_records,
    validate_small,
    validate_small_columns,
)
from fraudwatch.schema.results import (
    FieldError,
    Rejection,
    ValidatedBatch,
    integers_or_na,
    json_safe,
)

__all__ = [
    "CATEGORIES",
    "CURRENT_TIME_MESSAGE",
    "EVENT_TIME",
    "EVENT_TIME_RANGE_MS",
    "EVENT_TIME_WINDOW_MESSAGE",
    "FEED_COLUMNS",
    "FIELDS",
    "FIELDS_BY_NAME",
    "KAGGLE_COLUMNS",
    "LABEL_COLUMN",
    "SCENARIO_COLUMN",
    "SMALL_BATCH",
    "UNSTORABLE_MESSAGE",
    "VALID_COLUMNS",
    "FieldError",
    "FieldSpec",
    "Kind",
    "Rejection",
    "SmallBatch",
    "ValidatedBatch",
    "eligible",
    "frame_records",
    "has_unstorable",
    "integers_or_na",
    "is_small",
    "json_safe",
    "storable",
    "validate_batch",
    "validate_batch_vectorised",
    "validate_record",
    "validate_small",
    "validate_small_columns",
]


def validate_batch(batch: pd.DataFrame | Sequence[Mapping[str, Any]]) -> ValidatedBatch:
    """Split a batch into typed valid records and rejections that name every bad field.

    A small batch of plain values (an API call, a short CSV chunk) is checked value by value
    (:func:`validate_small`), anything else vectorised; both give the same result.
    """
    if isinstance(batch, pd.DataFrame):
        records = frame_records(batch)
        if records is not None:
            result = validate_small(records)
            result.valid.index = batch.index[result.valid.index.to_numpy()]
            return result
    elif eligible(batch):
        return validate_small(batch)
    return validate_batch_vectorised(batch)


def validate_record(record: Mapping[str, Any]) -> list[FieldError]:
    """Every problem with one record; an empty list means the record is valid."""
    result = validate_batch([record])
    return list(result.rejected[0].errors) if result.rejected else []
