"""Reading the real Kaggle layout: index column, quoted commas, chunking, clear header errors."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from fraudwatch.schema import KAGGLE_COLUMNS, validate_batch
from fraudwatch.sources.csv_file import (
    SourceFormatError,
    count_rows,
    read_transactions,
    write_transactions,
)
from tests.conftest import KAGGLE_HEAD as KAGGLE_HEAD_PATH


def test_reads_the_real_rows_with_index_and_quoted_commas(kaggle_head: Path) -> None:
    frame = pd.concat(read_transactions(kaggle_head))
    assert list(frame.columns) == list(KAGGLE_COLUMNS)
    assert len(frame) == 5116
    assert list(frame.index[:3]) == [0, 1, 2]
    row = frame.loc[1]
    assert row["job"] == "Sales professional, IT"
    assert row["cc_num"] == "3573030041201292"
    commas = frame[frame["merchant"].str.contains(",")]
    assert len(commas) > 100
    with kaggle_head.open(newline="") as handle:
        reference = {r["trans_num"]: r["merchant"] for r in csv.DictReader(handle)}
    assert all(
        reference[t] == m for t, m in zip(commas["trans_num"], commas["merchant"], strict=True)
    )


def test_card_numbers_stay_exact_digit_strings(kaggle_head: Path) -> None:
    frame = next(read_transactions(kaggle_head))
    with kaggle_head.open(newline="") as handle:
        raw = [r["cc_num"] for r in csv.DictReader(handle)]
    assert list(frame["cc_num"]) == raw
    assert max(len(pan) for pan in raw) == 19  # beyond float64 precision: must stay text


def test_unix_time_is_seven_years_behind_the_event_time(kaggle_head: Path) -> None:
    valid = validate_batch(next(read_transactions(kaggle_head, limit=500))).valid
    shifted = pd.to_datetime(valid["unix_time"].astype("int64"), unit="s")
    gap = valid["event_time"] - shifted
    assert (gap > pd.Timedelta(days=7 * 365)).all()
    assert (gap < pd.Timedelta(days=7 * 366)).all()


def test_chunks_concatenate_to_the_whole_file(kaggle_head: Path) -> None:
    whole = next(read_transactions(kaggle_head))
    chunks = list(read_transactions(kaggle_head, chunk_rows=1000))
    assert [len(c) for c in chunks] == [1000] * 5 + [116]
    pd.testing.assert_frame_equal(pd.concat(chunks), whole)


def test_limit_stops_early(kaggle_head: Path) -> None:
    chunks = list(read_transactions(kaggle_head, chunk_rows=300, limit=700))
    assert [len(c) for c in chunks] == [300, 300, 100]


def test_count_rows(kaggle_head: Path) -> None:
    assert count_rows(kaggle_head) == 5116


def test_write_then_read_round_trips_byte_for_byte(kaggle_head: Path, tmp_path: Path) -> None:
    frames = read_transactions(kaggle_head, chunk_rows=2000)
    out = tmp_path / "copy.csv"
    assert write_transactions(frames, out) == 5116
    original = kaggle_head.read_bytes().replace(b"\r\n", b"\n").rstrip(b"\n")
    assert out.read_bytes().rstrip(b"\n") == original


def test_wrong_header_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(SourceFormatError, match=r"lacks the column\(s\) trans_date_trans_time"):
        next(read_transactions(path))


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such transaction file"):
        next(read_transactions(tmp_path / "absent.csv"))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(SourceFormatError, match="is empty"):
        next(read_transactions(tmp_path / "empty.csv"))


def test_bad_values_reach_validation_instead_of_crashing_the_reader(
    kaggle_head: Path, tmp_path: Path
) -> None:
    lines = kaggle_head.read_text().splitlines()
    fields = next(csv.reader([lines[3]]))
    fields[KAGGLE_COLUMNS.index("amt") + 1] = "twelve"
    broken = [lines[0], lines[1], lines[2], ",".join(f'"{f}"' for f in fields), lines[4]]
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(broken) + "\n")
    result = validate_batch(next(read_transactions(path)))
    assert len(result.valid) == 3
    (rejection,) = result.rejected
    assert rejection.reason == "amt: must be a number"


def test_writing_nothing_still_writes_the_header(tmp_path: Path) -> None:
    out = tmp_path / "empty.csv"
    assert write_transactions([], out) == 0
    assert list(pd.read_csv(out, index_col=0).columns) == list(KAGGLE_COLUMNS)


def test_midnight_only_times_keep_their_time_and_dob_stays_a_date(tmp_path: Path) -> None:
    frame = next(read_transactions(KAGGLE_HEAD_PATH, limit=3))
    frame["trans_date_trans_time"] = pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03"])
    frame["dob"] = pd.to_datetime(frame["dob"])
    out = tmp_path / "midnight.csv"
    write_transactions([frame], out)
    back = pd.read_csv(out, index_col=0, dtype=str)
    assert list(back["trans_date_trans_time"]) == [
        "2020-01-01 00:00:00", "2020-01-02 00:00:00", "2020-01-03 00:00:00"
    ]  # fmt: skip
    assert back["dob"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
