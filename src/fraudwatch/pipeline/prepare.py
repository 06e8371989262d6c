"""The first two stages of every path: validate the records, then replace the PAN by a token.

After this stage the card number is gone: the batch carries ``card_token`` (for joins and
per-card history) and ``masked_pan`` (for people), never ``cc_num``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from fraudwatch.frames import object_array
from fraudwatch.privacy import card_tokens, mask_pan
from fraudwatch.schema import FieldError, Rejection, validate_batch, validate_small_columns
from fraudwatch.schema import json_safe as _json_safe
from fraudwatch.sources.csv_file import DEFAULT_CHUNK_ROWS, read_transactions

T = TypeVar("T")
CARD_TOKEN = "card_token"
MASKED_PAN = "masked_pan"


@dataclass
class PreparedBatch:
    """Valid records with the PAN replaced by token and mask, and the rejected ones."""

    transactions: pd.DataFrame
    rejected: list[Rejection] = field(default_factory=list)


def prepare_batch(raw: pd.DataFrame | Sequence[Mapping[str, Any]], key: bytes) -> PreparedBatch:
    """Validate a raw batch and tokenize its card numbers (the PAN column is dropped)."""
    result = validate_batch(raw)
    valid = result.valid
    codes, pans = pd.factorize(valid["cc_num"])  # each distinct card is hashed once
    tokens = card_tokens(pans.astype(str), key)
    masks = np.array([mask_pan(pan) for pan in pans.astype(str)], dtype=object)
    empty = np.array([], dtype=object)
    # in place (the frame is validation's own): the PAN column becomes the token column
    valid["cc_num"] = pd.Series(
        tokens[codes] if len(codes) else empty, index=valid.index, dtype=object
    )
    valid.columns = [CARD_TOKEN if name == "cc_num" else name for name in valid.columns]
    valid[MASKED_PAN] = pd.Series(
        masks[codes] if len(codes) else empty, index=valid.index, dtype=object
    )
    return PreparedBatch(valid, result.rejected)


@dataclass
class PreparedColumns:
    """A small batch prepared as plain column arrays (see :func:`prepare_small`)."""

    columns: dict[str, np.ndarray]
    positions: np.ndarray  # each valid record's position in the input
    rejected: list[Rejection] = field(default_factory=list)


def prepare_small(records: Sequence[Mapping[str, Any]], key: bytes) -> PreparedColumns:
    """:func:`prepare_batch` for a few plain records, as column arrays instead of a frame.

    The same validation and tokens (the columns scoring reads), without pandas' per-call
    overhead: the path of a single API transaction. ``records`` must be
    :func:`~fraudwatch.schema.eligible`.
    """
    checked = validate_small_columns(records)
    columns = checked.columns
    pans = columns.pop("cc_num").tolist() if "cc_num" in columns else []
    distinct = list(dict.fromkeys(pans))
    tokens = dict(zip(distinct, card_tokens(distinct, key).tolist(), strict=True))
    columns[CARD_TOKEN] = object_array([tokens[pan] for pan in pans])
    columns[MASKED_PAN] = object_array([mask_pan(pan) for pan in pans])
    return PreparedColumns(columns, checked.positions, checked.rejected)


def late_or_early(
    raw: pd.DataFrame | Sequence[Mapping[str, Any]],
    positions: np.ndarray,
    errors: Mapping[int, FieldError],
) -> list[Rejection]:
    """Rejections of validated records refused by the stream clock, as validation makes them.

    ``errors`` is keyed by the record's place among the valid ones, ``positions`` maps that
    place to its position in ``raw``; the record keeps its raw values, its card masked.
    """
    rejections = []
    for place, error in errors.items():
        position = int(positions[place])
        values = raw.iloc[position].to_dict() if isinstance(raw, pd.DataFrame) else raw[position]
        record = {str(name): _json_safe(value) for name, value in values.items()}
        if record.get("cc_num") is not None:
            record["cc_num"] = mask_pan(str(record["cc_num"]))
        rejections.append(Rejection(position, record, (error,)))
    return rejections


def read_prepared(
    path: Path, key: bytes, chunk_rows: int = DEFAULT_CHUNK_ROWS, *, drop: Sequence[str] = ()
) -> Iterator[PreparedBatch]:
    """Prepared chunks of a Kaggle-layout CSV file, in file order.

    Columns named in ``drop`` are removed before validation, so nothing in them (a label,
    even a malformed one) can reject a record.
    """
    for chunk in read_transactions(path, chunk_rows=chunk_rows):
        yield prepare_batch(chunk.drop(columns=list(drop), errors="ignore"), key)


_DONE = object()


def prefetched(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Produce ``items`` in a background thread, ``depth`` ahead of the consumer.

    Reading and validating the next chunk (pandas, mostly holding the GIL) then overlaps
    with scoring the current one (LightGBM, which releases it). Errors are re-raised in
    the consumer; stopping early stops the producer.
    """
    slots: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        slots.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(_DONE)
        except BaseException as error:  # handed to the consumer, which re-raises it
            slots.put(error)

    worker = threading.Thread(target=produce, name="fraudwatch-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join(timeout=5)
