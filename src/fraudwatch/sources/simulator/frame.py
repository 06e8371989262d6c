"""Turn generated rows into raw Kaggle-layout records (plus the ``fraud_scenario`` column).

Customer and merchant attributes are joined in here, once per block, with Arrow ``take``
so that text columns never become millions of Python strings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from fraudwatch.schema import CATEGORIES, KAGGLE_COLUMNS, SCENARIO_COLUMN
from fraudwatch.sources.simulator.config import SCENARIOS
from fraudwatch.sources.simulator.population import Population
from fraudwatch.sources.simulator.rhythms import kaggle_unix_time
from fraudwatch.sources.simulator.rows import Rows

OUTPUT_COLUMNS: tuple[str, ...] = (*KAGGLE_COLUMNS, SCENARIO_COLUMN)
_CATEGORY_NAMES = pd.array(list(CATEGORIES), dtype="str")
#: Label of scenario code ``c`` is at position ``c + 1``; legitimate rows (-1) get "".
_SCENARIO_LABELS = pd.array(["", *SCENARIOS], dtype="str")
_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
TRANS_NUM_BYTES = 16


def transaction_numbers(count: int, rng: np.random.Generator) -> pd.Series:
    """Random 128-bit ids as 32 lowercase hex characters, like Kaggle's ``trans_num``."""
    raw = np.frombuffer(rng.bytes(TRANS_NUM_BYTES * count), dtype=np.uint8)
    raw = raw.reshape(count, TRANS_NUM_BYTES)
    chars = np.empty((count, 2 * TRANS_NUM_BYTES), dtype=np.uint8)
    chars[:, 0::2] = _HEX_DIGITS[raw >> 4]
    chars[:, 1::2] = _HEX_DIGITS[raw & 15]
    offsets = np.arange(0, 2 * TRANS_NUM_BYTES * (count + 1), 2 * TRANS_NUM_BYTES, dtype=np.int32)
    text = pa.Array.from_buffers(
        pa.string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(chars)]
    )
    return pd.Series(text, dtype="str")


def build_frame(rows: Rows, population: Population, rng: np.random.Generator) -> pd.DataFrame:
    """Raw Kaggle-layout records of ``rows`` (kept in their order), with fresh trans_num."""
    customers, merchants = population.customers, population.merchants
    card = rows.customer
    columns = {
        "trans_date_trans_time": rows.time.astype("datetime64[s]").astype("datetime64[us]"),
        "cc_num": customers.cc_num.take(card),
        "merchant": merchants.names.take(rows.merchant),
        "category": _CATEGORY_NAMES.take(rows.category),
        "amt": rows.amount,
        "first": customers.first.take(card),
        "last": customers.last.take(card),
        "gender": customers.gender.take(card),
        "street": customers.street.take(card),
        "city": customers.city.take(card),
        "state": customers.state.take(card),
        "zip": customers.zip_code[card],
        "lat": customers.lat[card],
        "long": customers.long[card],
        "city_pop": customers.city_pop[card],
        "job": customers.job.take(card),
        "dob": customers.dob[card],
        "trans_num": transaction_numbers(len(rows), rng).array,
        "unix_time": kaggle_unix_time(rows.time),
        "merch_lat": rows.merch_lat,
        "merch_long": rows.merch_long,
        "is_fraud": (rows.scenario >= 0).astype(np.int64),
        SCENARIO_COLUMN: _SCENARIO_LABELS.take(rows.scenario + 1),
    }
    return pd.DataFrame(columns, columns=list(OUTPUT_COLUMNS))
