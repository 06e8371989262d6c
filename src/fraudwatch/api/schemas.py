"""The API's request and response bodies (pydantic), documented for the OpenAPI schema.

A transaction is the Kaggle/Sparkov record or the live-feed record (``current_time`` in
epoch milliseconds instead of ``trans_date_trans_time``). Its request model is generated
from the contract's field declarations (:data:`fraudwatch.schema.FIELDS`). Pydantic checks
types and presence; the transaction contract (:func:`fraudwatch.schema.validate_batch`)
then checks values (known category, coordinates in range, date of birth before the event,
...) with its own messages, so the API accepts exactly what the streaming pipeline
accepts; the bounds and patterns also appear in ``/openapi.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, create_model, field_validator

from fraudwatch.decision import RISK_LEVELS
from fraudwatch.schema import FIELDS_BY_NAME, KAGGLE_COLUMNS, LABEL_COLUMN, FieldSpec, Kind

RiskLevel = Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]
ThresholdName = Literal["conservative", "balanced", "sensitive", "very_sensitive"]
assert tuple(RiskLevel.__args__) == RISK_LEVELS  # type: ignore[attr-defined]

#: When the examples happen: this process's start, to the second. An example of the past
#: (the Kaggle files are 2019-2020) would be refused by the stream clock of a live stream,
#: or worse, accepted as card history (issue 12).
EXAMPLE_TIME = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
#: A made-up card number: the well-known Visa test number (Luhn-valid, nobody's card).
EXAMPLE_PAN = "4111111111111111"
KAGGLE_EXAMPLE: dict[str, Any] = {
    "trans_date_trans_time": f"{EXAMPLE_TIME:%Y-%m-%d %H:%M:%S}",
    "cc_num": EXAMPLE_PAN,
    "merchant": "fraud_Kirlin and Sons",
    "category": "personal_care",
    "amt": 2.86,
    "first": "Jane",
    "last": "Example",
    "gender": "F",
    "street": "1 Example Street",
    "city": "Columbia",
    "state": "SC",
    "zip": "29209",
    "lat": 33.9659,
    "long": -80.9355,
    "city_pop": 333497,
    "job": "Mechanical engineer",
    "dob": "1968-03-19",
    "trans_num": "0e1f2a3b4c5d6e7f8091a2b3c4d5e6f7",
    "unix_time": int(EXAMPLE_TIME.replace(tzinfo=dt.UTC).timestamp()),
    "merch_lat": 33.986391,
    "merch_long": -81.200714,
}
FEED_EXAMPLE: dict[str, Any] = {
    key: value
    for key, value in KAGGLE_EXAMPLE.items()
    if key not in ("trans_date_trans_time", "unix_time")
} | {
    "trans_num": "8f2c1e0b9d4a4f7e8c3b2a1d0e9f8a7b",
    "current_time": int(EXAMPLE_TIME.replace(tzinfo=dt.UTC).timestamp()) * 1000,
}


def dated_examples(document: dict[str, Any], moment: dt.datetime) -> dict[str, Any]:
    """The OpenAPI document with every example time moved from ``EXAMPLE_TIME`` to ``moment``.

    A live stream's clock can run far from the process's start (the demo's runs 600x real
    time), and an example older than ``FRAUDWATCH_MAX_EVENT_AGE`` would be refused: the
    examples follow the stream clock each time the document is served.
    """
    moment = moment.replace(microsecond=0, tzinfo=None)
    then, now = EXAMPLE_TIME.replace(tzinfo=dt.UTC), moment.replace(tzinfo=dt.UTC)
    text = json.dumps(document).replace(
        f'"{EXAMPLE_TIME:%Y-%m-%d %H:%M:%S}"', f'"{moment:%Y-%m-%d %H:%M:%S}"'
    )
    for old, new in (
        (int(then.timestamp()) * 1000, int(now.timestamp()) * 1000),
        (int(then.timestamp()), int(now.timestamp())),
    ):
        text = re.sub(rf"(?<![\d.]){old}(?![\d.])", str(new), text)
    dated: dict[str, Any] = json.loads(text)
    return dated


#: What the API adds to a field's contract description.
_API_NOTES: dict[str, str] = {
    "current_time": " Refused (422) when further than `FRAUDWATCH_MAX_EVENT_SKEW` ahead of or "
    "`FRAUDWATCH_MAX_EVENT_AGE` behind the stream clock (the newest event time scored).",
    "trans_date_trans_time": " Checked against the stream clock like `current_time`.",
    LABEL_COLUMN: " Accepted and ignored (scoring is label-free).",
}
#: The JSON type each kind of field arrives as (pydantic checks it; the contract, the values).
_REQUEST_TYPES: dict[Kind, type] = {
    Kind.TEXT: str, Kind.CARD: str, Kind.CHOICE: str, Kind.NUMBER: float, Kind.COUNT: int,
    Kind.EVENT_MS: int, Kind.EVENT_TEXT: str, Kind.BIRTH_DATE: str, Kind.INTEGER: int,
    Kind.TAG: str,
}  # fmt: skip
#: Request fields, in the order pydantic checks them (the epoch-ms event time first: the
#: date-time text is required only without it).
REQUEST_FIELDS: tuple[FieldSpec, ...] = tuple(
    FIELDS_BY_NAME[name]
    for name in dict.fromkeys(("current_time", *KAGGLE_COLUMNS))
    if FIELDS_BY_NAME[name].in_request
)
_EVENT_MS = next(spec.name for spec in REQUEST_FIELDS if spec.kind is Kind.EVENT_MS)


def request_type(spec: FieldSpec) -> Any:
    """The annotation of a field in the request body: its JSON type, None allowed if optional."""
    kind = _REQUEST_TYPES[spec.kind]
    return kind if spec.required else kind | None


def json_constraints(spec: FieldSpec) -> dict[str, Any]:
    """The field's declared bounds, pattern and choices as JSON Schema keywords.

    They document the contract in ``/openapi.json``; the contract itself enforces them (with
    its own messages, after pydantic's type checks). Time bounds are epoch ms of a text
    field: its description states them instead.
    """
    out: dict[str, Any] = {}
    if spec.pattern is not None:
        out["pattern"] = f"^(?:{spec.pattern})$"
    if spec.choices:
        lower = [choice.lower() for choice in spec.choices] if spec.upper else []
        out["enum"] = [*spec.choices, *(c for c in lower if c not in spec.choices)]
    if _REQUEST_TYPES[spec.kind] is not str:
        for keyword, bound in (
            ("minimum", spec.ge), ("maximum", spec.le), ("exclusiveMaximum", spec.lt),
        ):  # fmt: skip
            if bound is not None:
                out[keyword] = int(bound) if float(bound).is_integer() else bound
    return out


def _request_field(spec: FieldSpec) -> Any:
    example = KAGGLE_EXAMPLE.get(spec.name, FEED_EXAMPLE.get(spec.name))
    default: Any = ... if spec.required else None
    return Field(
        default,
        description=spec.description + _API_NOTES.get(spec.name, ""),
        examples=None if example is None else [example],
        json_schema_extra=json_constraints(spec) or None,
        validate_default=spec.kind is Kind.EVENT_TEXT or None,
    )


class _TransactionRules(BaseModel):
    """What the generated :data:`Transaction` adds to its fields: config, checks, record."""

    model_config = ConfigDict(
        extra="ignore",
        coerce_numbers_to_str=True,  # card numbers and zips often arrive as JSON numbers
        str_max_length=1000,
        json_schema_extra={"examples": [KAGGLE_EXAMPLE, FEED_EXAMPLE]},
    )

    @field_validator(
        *(spec.name for spec in REQUEST_FIELDS if spec.kind is Kind.CARD),
        mode="before",
        check_fields=False,
    )
    @classmethod
    def _card_number_text(cls, value: Any) -> Any:
        # a JSON number is a card number too (the Jedha feed sends one): as its digits
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator(
        *(spec.name for spec in REQUEST_FIELDS if spec.kind is Kind.EVENT_TEXT),
        check_fields=False,
    )
    @classmethod
    def _event_time_given(cls, value: str | None, info: ValidationInfo) -> str | None:
        # (when current_time itself is invalid, that is the one error to report)
        if value is None and _EVENT_MS in info.data and info.data[_EVENT_MS] is None:
            raise ValueError(f"required unless {_EVENT_MS} (epoch milliseconds) is given")
        return value

    def record(self) -> dict[str, Any]:
        """The raw record the contract validates (unset fields and the label left out)."""
        return self.model_dump(exclude_none=True, exclude={LABEL_COLUMN})


if TYPE_CHECKING:
    Transaction = _TransactionRules
else:
    #: The request body of one transaction, generated from the contract's declarations
    #: (:data:`fraudwatch.schema.FIELDS`): names, JSON types, required-ness, descriptions,
    #: bounds and patterns come from there, so the API cannot drift from the pipeline.
    Transaction = create_model(
        "Transaction",
        __base__=_TransactionRules,
        __doc__="One card transaction, Kaggle/Sparkov shape or live-feed shape.",
        __module__=__name__,
        **{spec.name: (request_type(spec), _request_field(spec)) for spec in REQUEST_FIELDS},
    )


class BatchRequest(BaseModel):
    """Several transactions scored in one call, in the order given (features see them in
    event-time order)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"transactions": [KAGGLE_EXAMPLE, FEED_EXAMPLE]}]}
    )

    transactions: list[Transaction] = Field(
        min_length=1, description="The transactions; at most the server's batch limit."
    )


class ScoreResult(BaseModel):
    """The decision on one transaction."""

    trans_num: str = Field(description="The transaction's id, as sent.")
    fraud_probability: float = Field(description="Calibrated probability of fraud, 0 to 1.")
    decision: Literal[0, 1] = Field(description="1 when flagged (probability >= threshold).")
    risk_level: RiskLevel = Field(
        description="LOW; MEDIUM from half the threshold; HIGH when flagged; CRITICAL from "
        "0.9 (or the threshold, if higher)."
    )
    threshold: float = Field(description="The model's decision threshold.")
    model_version: str = Field(description="Version id of the model that scored it.")
    top_reasons: list[str] = Field(
        description="Up to three reasons in words, for MEDIUM risk and above."
    )
    latency_ms: float = Field(description="Time from the request's arrival to the decision.")


class BatchResponse(BaseModel):
    """Decisions for every transaction of a batch, in request order."""

    results: list[ScoreResult]


class PredictRequest(BaseModel):
    """The original project's `/predict` body: one transaction and a named threshold."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"data": KAGGLE_EXAMPLE, "threshold": "balanced"}]}
    )

    data: Transaction = Field(description="The transaction.")
    threshold: ThresholdName = Field(
        "balanced", description="Named threshold for `prediction`; see `GET /thresholds`."
    )


class PredictDetails(BaseModel):
    """Everything else about a `/predict` decision."""

    trans_num: str
    model_version: str
    top_reasons: list[str]
    latency_ms: float
    threshold_name: ThresholdName
    model_threshold: float = Field(description="The model's own threshold (stored decisions).")
    stored_decision: Literal[0, 1] = Field(
        description="The decision at the model's threshold, the one written to the store."
    )


class PredictResponse(BaseModel):
    """The original project's `/predict` answer."""

    prediction: Literal[0, 1] = Field(description="1 when probability >= threshold_used.")
    probability: float = Field(description="Calibrated probability of fraud, 0 to 1.")
    threshold_used: float = Field(description="Value of the named threshold.")
    risk_level: RiskLevel = Field(description="Risk level relative to threshold_used.")
    details: PredictDetails


class NamedThreshold(BaseModel):
    """One named threshold and how it is derived from the model's."""

    name: ThresholdName
    value: float
    rule: str = Field(description="How the value follows from the model's threshold t.")


class ThresholdsResponse(BaseModel):
    """The four named thresholds of `/predict`."""

    model_threshold: float
    default: ThresholdName = "balanced"
    thresholds: list[NamedThreshold]


class HealthResponse(BaseModel):
    """Liveness: the process answers."""

    status: Literal["ok"] = "ok"
    model_version: str
    uptime_s: float


class ReadyResponse(BaseModel):
    """Readiness of each part the API needs."""

    ready: bool
    model: str = Field(description="`loaded`, or why not.")
    database: str = Field(description="`ok`, `unreachable` or `not configured`.")
    card_state: str = Field(
        "in process",
        description="Where per-card feature state lives: `in process`, or `redis: ok` / "
        "`unreachable` when `FRAUDWATCH_REDIS_URL` is set.",
    )
    stopped_components: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Rows of the status table (pipeline, other APIs, workers) that stopped on "
        "an error (`failed`, with its `detail`) or fell silent: scoring from them has stopped.",
    )


class ModelInfo(BaseModel):
    """The model in use: what it reads and how well it did on validation."""

    version: str
    created_at: str | None
    features: list[str]
    baseline_features: list[str]
    threshold: float
    threshold_policy: str | None
    training_window: dict[str, Any]
    validation_metrics: dict[str, Any]
    rows: dict[str, Any]
    label_delay_ms: int | None


class ErrorItem(BaseModel):
    """One problem with a request, located by field (and index in a batch)."""

    loc: list[str | int] = Field(description='Where: e.g. `["body", "transactions", 3, "amt"]`.')
    msg: str
    type: str = Field(description="`schema` for the transaction contract, else pydantic's type.")


class ErrorResponse(BaseModel):
    """Why a request was refused."""

    message: str = Field(description="Every problem in one line, fields named.")
    detail: list[ErrorItem] = Field(default_factory=list)
