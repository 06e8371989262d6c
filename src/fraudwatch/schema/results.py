"""What validation gives back, whichever engine ran: typed valid rows and named rejections."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fraudwatch.privacy import mask_pan
from fraudwatch.schema.fields import storable


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of one record."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class Rejection:
    """A record set aside, with every reason; its card number is already masked."""

    position: int
    record: dict[str, Any]
    errors: tuple[FieldError, ...]

    @property
    def reason(self) -> str:
        """All problems in one line, e.g. ``"amt: must be >= 0; lat: out of range"``."""
        return "; ".join(str(error) for error in self.errors)

    @property
    def fields(self) -> set[str]:
        """Names of the fields that have a problem."""
        return {error.field for error in self.errors}


@dataclass
class ValidatedBatch:
    """A batch split in two: typed valid records and rejected ones with reasons."""

    valid: pd.DataFrame
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Records in the input batch."""
        return len(self.valid) + len(self.rejected)


def json_safe(value: Any) -> Any:
    """A raw value in a form JSON can hold (for the dead letter)."""
    if isinstance(value, str):
        return storable(value)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)[:200]
    return value


def dead_letter(values: Mapping[Any, Any]) -> dict[str, Any]:
    """A rejected record as kept: JSON-safe values, the card number masked."""
    record = {str(name): json_safe(value) for name, value in values.items()}
    if record.get("cc_num") is not None:
        record["cc_num"] = mask_pan(str(record["cc_num"]))
    return record


def integers_or_na(values: np.ndarray | None, n: int, dtype: str) -> Any:
    """Numbers as a nullable integer array, truncated; NA where not finite or out of range."""
    numbers = np.full(n, np.nan) if values is None else values
    limits = np.iinfo(dtype.lower())
    with np.errstate(invalid="ignore"):
        kept = np.isfinite(numbers) & (numbers >= limits.min) & (numbers < -float(limits.min))
    whole = np.trunc(np.where(kept, numbers, 0.0)).astype(dtype.lower())
    return pd.arrays.IntegerArray(whole, ~kept)
