"""Fraud labels as issuers and analysts report them: the record, and CSV / JSON-lines input.

In production the truth arrives late and mostly for frauds: chargebacks and customer
disputes from the issuer, days after the transaction, plus analysts' verdicts on alerts.
One report is a :class:`LabelReport` (``trans_num``, ``label``, ``reported_at``,
``source``, optional ``reported_by`` and ``note``); the API's ``POST /v1/labels`` and the
``fraudwatch labels`` command both check records with it, so they accept the same input.
A file is CSV with a header row or JSON lines (one object a line); a malformed line
becomes a :class:`RejectedLine` with its number and reason, and the rest goes on.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fraudwatch.privacy import redact_pans
from fraudwatch.schema import has_unstorable

LabelSource = Literal["chargeback", "analyst"]
LABEL_FIELDS = ("trans_num", "label", "reported_at", "source", "reported_by", "note")
#: Who reported a label when the record does not say.
DEFAULT_REPORTER: dict[str, str] = {"chargeback": "issuer", "analyst": "analyst"}
MAX_NOTE_LENGTH = 2_000
_LABEL_WORDS = {"0": 0, "1": 1, "false": 0, "true": 1, "legitimate": 0, "fraud": 1}
InputFormat = Literal["auto", "csv", "jsonl"]


class LabelReport(BaseModel):
    """One label report: is this transaction a fraud, who says so and when."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)

    trans_num: str = Field(
        min_length=1, max_length=200, description="The transaction's id.", examples=["2da9…"]
    )
    label: int = Field(
        description="1 fraud, 0 legitimate (also `true`/`false`, `fraud`/`legitimate`).",
        examples=[1],
    )
    reported_at: datetime = Field(
        description="When the issuer or analyst reported it: ISO 8601 (no offset = UTC) or "
        "epoch seconds.",
        examples=["2020-06-24T09:00:00Z"],
    )
    source: LabelSource = Field(
        description="`chargeback` (issuer: chargeback, dispute) or `analyst` (a verdict).",
        examples=["chargeback"],
    )
    reported_by: str | None = Field(
        None,
        max_length=200,
        description="Who reported it. Default: `issuer` for a chargeback, `analyst` for a verdict.",
    )
    note: str | None = Field(None, max_length=MAX_NOTE_LENGTH, description="Free text.")

    @field_validator("trans_num", "reported_by", "note")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        if value is not None and has_unstorable(value):
            raise ValueError("holds a NUL or a lone surrogate, which cannot be stored")
        return value

    @field_validator("label", mode="before")
    @classmethod
    def _label(cls, value: Any) -> int:
        if isinstance(value, bool):
            word = "true" if value else "false"
        elif isinstance(value, float) and value.is_integer():
            word = str(int(value))
        else:
            word = str(value).strip().lower()
        if word not in _LABEL_WORDS:
            raise ValueError("must be 1 (fraud) or 0 (legitimate)")
        return _LABEL_WORDS[word]

    @field_validator("source", mode="before")
    @classmethod
    def _source(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("reported_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @property
    def reporter(self) -> str:
        """Who reported it (card numbers in a name are masked)."""
        return redact_pans(self.reported_by or DEFAULT_REPORTER[self.source])

    @property
    def is_fraud(self) -> bool:
        """Whether the report says fraud."""
        return self.label == 1

    def row(self) -> dict[str, Any]:
        """The report as a ``labels`` / ``pending_labels`` row (note PAN-redacted)."""
        return {
            "trans_num": self.trans_num,
            "is_fraud": self.label,
            "source": self.source,
            "analyst": self.reporter,
            "note": redact_pans(self.note) if self.note else None,
            "reported_at": self.reported_at,
        }


@dataclass(frozen=True)
class RejectedLine:
    """An input line that is not a label report: where it is, why, and what it said."""

    line: int
    reason: str
    record: dict[str, Any] | str


def describe(error: ValidationError) -> str:
    """A pydantic error as ``field: message; field: message``."""
    parts = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "record"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def detect_format(first_line: str) -> Literal["csv", "jsonl"]:
    """JSON lines when the first non-blank line opens an object, else CSV."""
    return "jsonl" if first_line.lstrip().startswith("{") else "csv"


def parse_lines(
    lines: Iterable[str], input_format: InputFormat = "auto"
) -> Iterator[LabelReport | RejectedLine]:
    """Reports and rejected lines of a CSV (header first) or JSON-lines text, in order."""
    iterator = iter(lines)
    skipped = 0  # blank lines before the first one, so numbers match the file's
    for first in iterator:
        if first.strip():
            break
        skipped += 1
    else:
        return
    chosen = detect_format(first) if input_format == "auto" else input_format
    rest = _chain(first, iterator)
    parsed = _parse_jsonl(rest) if chosen == "jsonl" else _parse_csv(rest)
    for item in parsed:
        if isinstance(item, RejectedLine) and skipped:
            item = RejectedLine(item.line + skipped, item.reason, item.record)
        yield item


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _validated(line: int, record: dict[str, Any]) -> LabelReport | RejectedLine:
    try:
        return LabelReport.model_validate(record)
    except ValidationError as error:
        return RejectedLine(line, describe(error), record)


def _parse_jsonl(lines: Iterator[str]) -> Iterator[LabelReport | RejectedLine]:
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            yield RejectedLine(number, f"not JSON: {error.msg}", text.strip()[:500])
            continue
        if not isinstance(record, dict):
            yield RejectedLine(number, "not a JSON object", text.strip()[:500])
            continue
        yield _validated(number, record)


def _parse_csv(lines: Iterator[str]) -> Iterator[LabelReport | RejectedLine]:
    reader = csv.reader(lines)
    header = [name.strip() for name in next(reader)]
    missing = [
        name for name in ("trans_num", "label", "reported_at", "source") if name not in header
    ]
    if missing:
        yield RejectedLine(1, f"header: missing column {', '.join(missing)}", ",".join(header))
        return
    for values in reader:
        number = reader.line_num
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(header):
            reason = f"{len(values)} values for {len(header)} columns"
            yield RejectedLine(number, reason, ",".join(values)[:500])
            continue
        record = {name: value for name, value in zip(header, values, strict=True) if value != ""}
        yield _validated(number, record)
