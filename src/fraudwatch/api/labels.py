"""``POST /v1/labels``: fraud labels as issuers and analysts report them, into the store.

A body of up to :data:`MAX_LABELS` reports (:class:`~fraudwatch.sources.labels.LabelReport`:
``trans_num``, ``label``, ``reported_at``, ``source``); a malformed one refuses the whole
body with 422 naming it (``labels[3].label``), like a batch of transactions. The answer says
how many were stored, of which applied (their transaction is stored) and pending (it is not
yet: they are applied when it arrives), and how many were duplicates of stored reports.
"""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import FastAPI, status
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from fraudwatch.sinks.labels import LabelOutcome
from fraudwatch.sources.labels import LabelReport

MAX_LABELS = 10_000
EXAMPLE: dict[str, Any] = {
    "labels": [
        {
            "trans_num": "2da90c7d74bd46a0caf3777415b3ebd3",
            "label": 1,
            "reported_at": "2020-06-24T09:00:00Z",
            "source": "chargeback",
        },
        {
            "trans_num": "8f2c1e0b9d4a4f7e8c3b2a1d0e9f8a7b",
            "label": 0,
            "reported_at": "2020-06-22T15:30:00Z",
            "source": "analyst",
            "reported_by": "ana",
            "note": "customer confirmed the purchase",
        },
    ]
}


class LabelStore(Protocol):
    """What the route needs of the store."""

    def add_labels(self, reports: list[LabelReport]) -> LabelOutcome:
        """Store reports (idempotent)."""
        ...


class LabelsRequest(BaseModel):
    """Label reports to store."""

    model_config = {"json_schema_extra": {"examples": [EXAMPLE]}}

    labels: list[LabelReport] = Field(
        min_length=1, description=f"One to {MAX_LABELS:,} label reports."
    )


class LabelsResponse(BaseModel):
    """What became of the reports."""

    received: int = Field(description="Reports in the request.")
    stored: int = Field(description="Reports written (applied + pending).")
    applied: int = Field(description="Stored as labels of transactions already stored.")
    pending: int = Field(
        description="Stored to wait for their transaction; applied when it arrives."
    )
    duplicates: int = Field(description="Reports stored before (or twice in the request).")


def add_label_route(
    app: FastAPI, store: LabelStore | None, dependencies: list[Any], responses: dict[Any, Any]
) -> None:
    """Register ``POST /v1/labels`` (behind the same API key as scoring)."""

    @app.post(
        "/v1/labels", response_model=LabelsResponse, dependencies=dependencies,
        responses={**responses, 503: {"description": "The API has no database to store to."}},
        tags=["labels"], summary="Report fraud labels (chargebacks, analyst verdicts)",
    )  # fmt: skip
    def add_labels(body: LabelsRequest) -> Any:  # sync: FastAPI runs it in a thread
        """Store label reports; a transaction not stored yet keeps its label pending.

        Every source is kept: a transaction's effective label is its newest chargeback if it
        has one, else its newest analyst verdict. The same report sent twice is stored once.
        """
        if len(body.labels) > MAX_LABELS:
            raise StarletteHTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                f"at most {MAX_LABELS} labels per request, got {len(body.labels)}",
            )
        if store is None:
            raise StarletteHTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "labels need a database: start the API with one (FRAUDWATCH_DATABASE_URL)",
            )
        outcome = store.add_labels(body.labels)
        return {
            "received": outcome.received,
            "stored": outcome.stored,
            "applied": outcome.applied,
            "pending": outcome.pending,
            "duplicates": outcome.duplicates,
        }
