"""The transaction contract: every problem named by field, nothing dropped silently."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraudwatch.schema import (
    CATEGORIES,
    FEED_COLUMNS,
    KAGGLE_COLUMNS,
    validate_batch,
    validate_batch_vectorised,
    validate_record,
)
from fraudwatch.sources.csv_file import read_transactions
from tests.conftest import KAGGLE_HEAD


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _fixture_records(limit: int = 200) -> list[dict[str, Any]]:
    frame = next(read_transactions(KAGGLE_HEAD, limit=limit))
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


RECORDS = _fixture_records()

# (field, bad value) pairs that must each be reported under that field's name.
CORRUPTIONS: list[tuple[str, Any]] = [
    ("amt", "twelve"), ("amt", -0.01), ("amt", None), ("amt", float("inf")), ("amt", True),
    ("lat", 90.5), ("lat", -91), ("long", 180.01), ("merch_lat", "north"),
    ("merch_long", -200), ("cc_num", "4111-abc"), ("cc_num", "123"), ("cc_num", ""),
    ("cc_num", 12.5), ("category", "casino"), ("category", ""), ("trans_num", ""),
    ("trans_num", "   "), ("merchant", None), ("trans_date_trans_time", "yesterday"),
    ("trans_date_trans_time", "2020-13-45 99:00:00"), ("dob", "not a date"),
    ("dob", "2090-01-01"), ("gender", "X"), ("city_pop", -5), ("city_pop", 1.5),
    ("is_fraud", 2), ("is_fraud", "maybe"), ("unix_time", "soon"),
    # text no database can store: a NUL (PostgreSQL refuses it), a lone surrogate (no UTF-8)
    ("merchant", "fraud_\x00Kirlin"), ("city", "Col\ud800umbia"), ("amt", "12\udfff"),
    ("job", "\x00"),
]  # fmt: skip


def test_real_kaggle_rows_are_all_valid() -> None:
    frame = next(read_transactions(KAGGLE_HEAD))
    result = validate_batch(frame)
    assert result.rejected == []
    assert len(result.valid) == len(frame) == 5116
    assert int(result.valid["is_fraud"].sum()) == 18


def test_event_time_is_trans_date_not_unix_time() -> None:
    result = validate_batch(RECORDS[:1])
    row = result.valid.iloc[0]
    assert row["event_time"] == pd.Timestamp("2020-06-21 12:14:25")
    # unix_time is seven years behind in the Kaggle files and must not be used
    assert pd.Timestamp(int(row["unix_time"]), unit="s").year == 2013


def test_feed_shape_uses_current_time() -> None:
    record = {k: RECORDS[0][k] for k in FEED_COLUMNS if k in RECORDS[0]}
    record["current_time"] = 1_700_000_000_123
    assert set(record) == set(FEED_COLUMNS)
    result = validate_batch([record])
    assert result.rejected == []
    assert result.valid.iloc[0]["event_time"] == pd.Timestamp("2023-11-14 22:13:20.123")


def test_current_time_wins_over_trans_date_when_both_present() -> None:
    record = dict(RECORDS[0], current_time=1_600_000_000_000)
    event = validate_batch([record]).valid.iloc[0]["event_time"]
    assert event == pd.Timestamp(1_600_000_000_000, unit="ms")


@pytest.mark.parametrize(
    ("field", "value", "valid"),
    [
        ("trans_date_trans_time", "2199-06-21 12:14:25", False),
        ("trans_date_trans_time", "2100-01-01 00:00:00", False),
        ("trans_date_trans_time", "2099-12-31 23:00:00-05:00", False),  # 2100 in UTC
        ("trans_date_trans_time", "1999-12-31 23:59:59", False),
        ("trans_date_trans_time", "2099-12-31 23:59:59", True),
        ("trans_date_trans_time", "2000-01-01 00:00:00", True),
        ("current_time", 4_102_444_800_000, False),
        ("current_time", 946_684_800_000, True),
    ],
)
def test_event_times_outside_2000_to_2100_are_rejected_in_both_paths(
    field: str, value: Any, valid: bool
) -> None:
    record = dict(RECORDS[3], **{field: value})
    for result in (validate_batch([record]), validate_batch_vectorised([record])):
        assert len(result.valid) == int(valid)
        if not valid:
            assert [(e.field, "2000" in e.message and "2100" in e.message)
                    for e in result.rejected[0].errors] == [(field, True)]  # fmt: skip


@pytest.mark.parametrize(("field", "value"), CORRUPTIONS)
def test_each_corruption_is_named(field: str, value: Any) -> None:
    record = dict(RECORDS[3], **{field: value})
    errors = validate_record(record)
    assert field in {error.field for error in errors}, errors


def test_unstorable_text_is_rejected_in_both_paths_and_dead_letters_can_be_stored() -> None:
    batch = [dict(r) for r in RECORDS[:40]]
    batch[1]["merchant"] = "a\x00b"
    batch[2]["street"] = "x\ud800y"
    small, large = validate_batch(batch[:8]), validate_batch(batch)  # scalar and vectorised
    for result in (small, large):
        assert [r.position for r in result.rejected] == [1, 2]
        assert [str(e) for e in result.rejected[0].errors] == [
            "merchant: contains a NUL character or an unpaired surrogate (not storable text)"
        ]
        assert result.rejected[1].fields == {"street"}
        for rejection in result.rejected:  # the dead letter shows U+FFFD and encodes
            json.dumps(rejection.record, ensure_ascii=False).encode("utf-8")
        assert result.rejected[0].record["merchant"] == "a\ufffdb"
    # a CSV column arrives as Arrow strings (valid UTF-8 already): NUL is still found
    frame = pd.DataFrame(batch, dtype=object).astype({"merchant": "string[pyarrow]"})
    assert [r.position for r in validate_batch(frame).rejected] == [1, 2]


@pytest.mark.parametrize("field", ["cc_num", "amt", "category", "trans_num", "lat", "dob"])
def test_missing_field_is_named(field: str) -> None:
    record = {k: v for k, v in RECORDS[5].items() if k != field}
    errors = validate_record(record)
    assert [e.field for e in errors] == [field]
    assert "missing" in errors[0].message


def test_missing_column_rejects_every_row_with_the_column_name() -> None:
    frame = next(read_transactions(KAGGLE_HEAD, limit=50)).drop(columns=["amt"])
    result = validate_batch(frame)
    assert len(result.valid) == 0
    assert len(result.rejected) == 50
    assert all(r.reason == "amt: missing column" for r in result.rejected)


def test_every_problem_of_a_record_is_reported() -> None:
    record = dict(RECORDS[1], amt="x", lat=300, category="nope", trans_num="")
    assert {e.field for e in validate_record(record)} == {"amt", "lat", "category", "trans_num"}


def test_rejected_record_keeps_raw_values_but_masks_the_card_number() -> None:
    record = dict(RECORDS[2], amt="oops")
    rejection = validate_batch([record]).rejected[0]
    assert rejection.record["amt"] == "oops"
    assert rejection.record["merchant"] == record["merchant"]
    pan = str(record["cc_num"])
    assert rejection.record["cc_num"] != pan
    assert pan not in repr(rejection)
    assert rejection.record["cc_num"].endswith(pan[-4:])


def test_unknown_category_message_lists_the_known_ones() -> None:
    (error,) = validate_record(dict(RECORDS[0], category="casino"))
    assert all(category in error.message for category in CATEGORIES)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    picks=st.lists(
        st.tuples(
            st.integers(0, len(RECORDS) - 1),
            st.one_of(st.none(), st.integers(0, len(CORRUPTIONS) - 1)),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_batch_split_loses_nothing(picks: list[tuple[int, int | None]]) -> None:
    """Valid + rejected = input; exactly the corrupted positions are rejected, order kept."""
    batch, corrupted = [], set()
    for position, (row, corruption) in enumerate(picks):
        record = dict(RECORDS[row], trans_num=f"t{position:04d}")
        if corruption is not None:
            field, value = CORRUPTIONS[corruption]
            record[field] = value
            if field != "trans_num":
                record["trans_num"] = f"t{position:04d}"
            corrupted.add(position)
        batch.append(record)
    result = validate_batch(batch)
    assert result.total == len(batch)
    assert {r.position for r in result.rejected} == corrupted
    expected_valid = [f"t{p:04d}" for p in range(len(batch)) if p not in corrupted]
    assert list(result.valid["trans_num"]) == expected_valid
    assert all(r.errors for r in result.rejected)


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(max_examples=150, deadline=None)
@given(field=st.sampled_from([*KAGGLE_COLUMNS, "current_time"]), value=JUNK)
def test_arbitrary_junk_never_crashes_and_never_passes_unnoticed(field: str, value: Any) -> None:
    record = dict(RECORDS[7], **{field: value})
    result = validate_batch([record])
    assert result.total == 1
    if result.rejected:
        assert result.rejected[0].errors
        assert all(e.field in (*KAGGLE_COLUMNS, "current_time") for e in result.rejected[0].errors)
    else:  # accepted: the junk must have been a legitimate value for that field
        row = result.valid.iloc[0]
        assert 0 <= row["amt"] < float("inf")
        assert -90 <= row["lat"] <= 90 and -180 <= row["long"] <= 180
        assert row["category"] in CATEGORIES
        assert str(row["cc_num"]).isdigit()
        assert str(row["trans_num"]).strip()


def test_empty_batch() -> None:
    result = validate_batch([])
    assert result.total == 0
    assert list(result.valid.columns)[:2] == ["event_time", "trans_date_trans_time"]


def test_fixture_path_exists() -> None:
    assert Path(KAGGLE_HEAD).is_file()
