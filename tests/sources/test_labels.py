"""Label reports: what a record may say, and how CSV and JSON-lines input is split up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from fraudwatch.sources.labels import LabelReport, RejectedLine, parse_lines


@pytest.mark.parametrize(
    ("given", "label"), [(1, 1), (True, 1), ("fraud", 1), (" 0 ", 0), (0.0, 0)]
)
def test_label_spellings(given: object, label: int) -> None:
    record = {"trans_num": "t", "label": given, "reported_at": "2020-01-01", "source": "analyst"}
    assert LabelReport.model_validate(record).label == label


def test_times_become_utc_and_the_reporter_has_a_default() -> None:
    report = LabelReport.model_validate(
        {"trans_num": "t", "label": 1, "reported_at": "2020-01-01T02:00:00+02:00",
         "source": " Chargeback "}
    )  # fmt: skip
    assert report.reported_at == datetime(2020, 1, 1, tzinfo=UTC)
    assert (report.source, report.reporter) == ("chargeback", "issuer")
    naive = report.model_copy(update={"reported_by": "ana 4539148803436467"})
    assert naive.reporter == "ana 453914******6467"


@pytest.mark.parametrize(
    ("field", "value"), [("label", 2), ("source", "bank"), ("trans_num", ""), ("note", "a\x00b")]
)
def test_bad_fields_are_named(field: str, value: object) -> None:
    record = {"trans_num": "t", "label": 1, "reported_at": "2020-01-01", "source": "analyst"}
    with pytest.raises(ValidationError) as error:
        LabelReport.model_validate(record | {field: value})
    assert error.value.errors()[0]["loc"] == (field,)


def test_csv_without_a_required_column_is_one_reject() -> None:
    parsed = list(parse_lines(["trans_num,label,source\n", "t,1,analyst\n"]))
    assert parsed == [
        RejectedLine(1, "header: missing column reported_at", "trans_num,label,source")
    ]


def test_csv_lines_are_numbered_as_in_the_file_blank_lines_skipped() -> None:
    text = ["\n", "trans_num,label,reported_at,source\n", "a,1,2020-01-01,analyst\n", "\n",
            "b,1,2020-01-01\n", 'c,0,2020-01-01,"analyst"\n']  # fmt: skip
    parsed = list(parse_lines(text, "csv"))
    assert [getattr(item, "trans_num", None) for item in parsed] == ["a", None, "c"]
    assert parsed[1] == RejectedLine(5, "3 values for 4 columns", "b,1,2020-01-01")
