"""Kaggle-layout CSV files (fraudTrain.csv / fraudTest.csv and the simulator's output).

The files have a leading unnamed row-index column, commas inside quoted merchant and job
fields, and ``unix_time`` seven years behind ``trans_date_trans_time``. Reading is chunked
with Arrow-backed strings, so 1.3 M rows never become 1.3 M Python objects at once; values
stay raw here and :func:`fraudwatch.schema.validate_batch` types and checks them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from fraudwatch.errors import FraudwatchError
from fraudwatch.schema import KAGGLE_COLUMNS, SCENARIO_COLUMN

DEFAULT_CHUNK_ROWS = 200_000
#: Columns read as text whatever they look like (card numbers must not become floats).
_TEXT_COLUMNS = (
    "cc_num", "merchant", "category", "first", "last", "gender", "street", "city", "state",
    "zip", "job", "dob", "trans_num", "trans_date_trans_time", SCENARIO_COLUMN,
)  # fmt: skip
#: Without these a file cannot be scored at all; per-value problems are validation's job.
_REQUIRED_HEADER = ("trans_date_trans_time", "cc_num", "category", "amt", "trans_num")


class SourceFormatError(FraudwatchError, ValueError):
    """A file is not in the Kaggle transaction layout (wrong header, not a CSV, ...)."""


def read_header(path: Path) -> tuple[list[str], bool]:
    """Column names of a file and whether its first column is the unnamed row index."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError as error:
        raise SourceFormatError(f"{path} is not a UTF-8 CSV file: {error}") from error
    if not header:
        raise SourceFormatError(f"{path} is empty: expected a Kaggle-layout CSV header")
    has_index = header[0].strip() == "" or header[0].startswith("Unnamed")
    columns = header[1:] if has_index else header
    missing = [name for name in _REQUIRED_HEADER if name not in columns]
    if missing:
        raise SourceFormatError(
            f"{path} lacks the column(s) {', '.join(missing)}; expected the Kaggle "
            f"fraudTrain/fraudTest layout: {', '.join(KAGGLE_COLUMNS)}"
        )
    return columns, has_index


def read_transactions(
    path: str | Path, chunk_rows: int = DEFAULT_CHUNK_ROWS, limit: int | None = None
) -> Iterator[pd.DataFrame]:
    """Yield the raw records of a Kaggle-layout CSV file in chunks of ``chunk_rows`` rows."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such transaction file: {path}")
    columns, has_index = read_header(path)
    dtypes = {name: "string[pyarrow]" for name in _TEXT_COLUMNS if name in columns}
    remaining = limit
    with pd.read_csv(
        path,
        index_col=0 if has_index else None,
        dtype=dtypes,
        chunksize=chunk_rows,
        keep_default_na=False,
        na_values=[""],
    ) as reader:
        for chunk in reader:
            if remaining is not None:
                if remaining <= 0:
                    return
                chunk = chunk.iloc[:remaining]
                remaining -= len(chunk)
            chunk.index.name = None
            yield chunk


def count_rows(path: str | Path) -> int:
    """Number of records in a CSV file (quoted newlines respected), for progress bars."""
    with Path(path).open(newline="", encoding="utf-8") as handle:
        return max(sum(1 for _ in csv.reader(handle)) - 1, 0)


def _pinned_time_formats(frame: pd.DataFrame) -> pd.DataFrame:
    """Date-time columns as Kaggle text: pandas alone drops the time when all are midnight."""
    formats = {"trans_date_trans_time": "%Y-%m-%d %H:%M:%S", "dob": "%Y-%m-%d"}
    pinned = {
        name: frame[name].dt.strftime(text_format)
        for name, text_format in formats.items()
        if pd.api.types.is_datetime64_any_dtype(frame[name].dtype)
    }
    return frame.assign(**pinned) if pinned else frame.copy(deep=False)


def write_transactions(
    frames: Iterable[pd.DataFrame], path: str | Path, *, with_scenario: bool = True
) -> int:
    """Write frames in the exact Kaggle layout (unnamed index column first); return rows.

    The simulator's ``fraud_scenario`` column follows the Kaggle columns when the frames
    have it and ``with_scenario`` is true; readers of the real files simply see one more
    column.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    columns: list[str] | None = None
    with path.open("w", newline="", encoding="utf-8") as handle:
        for frame in frames:
            if columns is None:
                columns = list(KAGGLE_COLUMNS)
                if with_scenario and SCENARIO_COLUMN in frame:
                    columns.append(SCENARIO_COLUMN)
                handle.write(",".join(["", *columns]) + "\n")
            out = _pinned_time_formats(frame.loc[:, columns])
            out.index = pd.RangeIndex(written, written + len(out))
            out.to_csv(handle, header=False, index=True, lineterminator="\n")
            written += len(out)
        if columns is None:
            handle.write(",".join(["", *KAGGLE_COLUMNS]) + "\n")
    return written
