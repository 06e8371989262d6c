"""The first two stages of every path: validate the records, then replace the PAN by a token.

After this stage the card number is gone: the batch carries ``card_token`` (for joins and
per-card history) and ``masked_pan`` (for people), never ``cc_num``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from fraudwatch.privacy import card_tokens, mask_pan
from fraudwatch.schema import Rejection, validate_batch
from fraudwatch.sources.csv_file import DEFAULT_CHUNK_ROWS, read_transactions

CARD_TOKEN = "card_token"
MASKED_PAN = "masked_pan"


@dataclass
class PreparedBatch:
    """Valid records with the PAN replaced by token and mask, and the rejected ones."""

    transactions: pd.DataFrame
    rejected: list[Rejection] = field(default_factory=list)


def prepare_batch(raw: pd.DataFrame | list[dict[str, object]], key: bytes) -> PreparedBatch:
    """Validate a raw batch and tokenize its card numbers (the PAN column is dropped)."""
    result = validate_batch(raw)
    valid = result.valid
    pans = valid["cc_num"].astype(str)
    tokens = card_tokens(pans, key)
    unique = dict.fromkeys(pans)
    masks = {pan: mask_pan(pan) for pan in unique}
    valid = valid.drop(columns=["cc_num"])
    valid.insert(1, CARD_TOKEN, tokens)
    valid.insert(2, MASKED_PAN, pans.map(masks).to_numpy(dtype=object))
    return PreparedBatch(valid, result.rejected)


def read_prepared(
    path: Path, key: bytes, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Iterator[PreparedBatch]:
    """Prepared chunks of a Kaggle-layout CSV file, in file order."""
    for chunk in read_transactions(path, chunk_rows=chunk_rows):
        yield prepare_batch(chunk, key)
