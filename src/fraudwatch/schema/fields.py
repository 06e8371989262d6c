"""The transaction contract, declared once: every field, its kind, bounds, pattern and messages.

:data:`FIELDS` is the single statement of the rules. Both validation engines read it — the
vectorised one over pandas frames (:mod:`fraudwatch.schema.frame`) and the value-by-value
one for small batches (:mod:`fraudwatch.schema.records`) — and so does the API's request
model (:mod:`fraudwatch.api.schemas`). A rule changes here, in one place; each engine only
knows how to apply a :class:`Kind`.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

#: Columns of fraudTrain.csv / fraudTest.csv, in file order (after the unnamed index column).
KAGGLE_COLUMNS: tuple[str, ...] = (
    "trans_date_trans_time", "cc_num", "merchant", "category", "amt", "first", "last",
    "gender", "street", "city", "state", "zip", "lat", "long", "city_pop", "job", "dob",
    "trans_num", "unix_time", "merch_lat", "merch_long", "is_fraud",
)  # fmt: skip
#: Columns of the Jedha ``/current-transactions`` feed, in its order.
FEED_COLUMNS: tuple[str, ...] = (
    "cc_num", "merchant", "category", "amt", "first", "last", "gender", "street", "city",
    "state", "zip", "lat", "long", "city_pop", "job", "dob", "trans_num", "merch_lat",
    "merch_long", "is_fraud", "current_time",
)  # fmt: skip
#: The fourteen merchant categories of the Sparkov generator.
CATEGORIES: tuple[str, ...] = (
    "entertainment", "food_dining", "gas_transport", "grocery_net", "grocery_pos",
    "health_fitness", "home", "kids_pets", "misc_net", "misc_pos", "personal_care",
    "shopping_net", "shopping_pos", "travel",
)  # fmt: skip
LABEL_COLUMN = "is_fraud"
#: Extra column our simulator writes: the fraud scenario of a fraudulent row, empty otherwise.
SCENARIO_COLUMN = "fraud_scenario"
EVENT_TIME = "event_time"
#: Columns of a validated batch, in order; ``SCENARIO_COLUMN`` follows when the input has it.
VALID_COLUMNS: tuple[str, ...] = (EVENT_TIME, *KAGGLE_COLUMNS)

#: The absolute validity window of event times (either field), epoch ms: 2000-01-01 (included)
#: to 2100-01-01 (excluded). A record outside it is rejected whatever the stream's clock says.
EVENT_TIME_RANGE_MS = (946_684_800_000, 4_102_444_800_000)
#: 1900-01-01, epoch ms: no card holder is born earlier.
OLDEST_DOB_MS = -2_208_988_800_000
CURRENT_TIME_MESSAGE = "must be epoch milliseconds between 2000 and 2100"
EVENT_TIME_WINDOW_MESSAGE = "must lie between 2000-01-01 and 2100-01-01 (UTC)"
UNSTORABLE_MESSAGE = "contains a NUL character or an unpaired surrogate (not storable text)"
MISSING_COLUMN = "missing column"
MISSING_VALUE = "missing value"
#: What a batch without ``current_time`` lacks when it has no ``trans_date_trans_time`` either.
MISSING_EVENT_COLUMN = "missing column (needed when current_time is absent)"
PAN_PATTERN = r"[0-9]{8,19}"  # ASCII digits: a PAN in other scripts is no PAN
DATE_TIME_PATTERN = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
#: Years a date or date-time may name at all (a wider window than any field's bounds, so
#: that pandas and Python parse the same dates).
PARSED_YEARS = (1900, 2200)

#: The most rows a batch may have and still be *small*: checked value by value
#: (:mod:`fraudwatch.schema.records`), scored as plain column arrays, with per-row Python in
#: the feature code instead of pandas (whose ~100 µs a call dominate a few rows). Every
#: size decision goes through :func:`is_small`, so a batch of this size takes the small path
#: everywhere and one more row the large path everywhere; both give the same values.
SMALL_BATCH = 64


def is_small(rows: int) -> bool:
    """Whether a batch of ``rows`` rows takes the small-batch path: at most :data:`SMALL_BATCH`."""
    return rows <= SMALL_BATCH


class Kind(enum.Enum):
    """How a field's values are read and checked (each engine implements each kind once)."""

    #: Free text, stripped; required ones must not be blank.
    TEXT = "text"
    #: A card number: ``pattern`` digits; a JSON number is read as its digits.
    CARD = "card"
    #: Text that must be one of ``choices`` (upper-cased first when ``upper``).
    CHOICE = "choice"
    #: A real number within the bounds.
    NUMBER = "number"
    #: A whole number within the bounds.
    COUNT = "count"
    #: Epoch milliseconds within the bounds; the event time when given.
    EVENT_MS = "event milliseconds"
    #: An ISO date-time (``pattern``) within the bounds (epoch ms); the event time when the
    #: ``EVENT_MS`` field is not given, needed then.
    EVENT_TEXT = "event date-time"
    #: An ISO date (``pattern``) from the lower bound (epoch ms) to the event time.
    BIRTH_DATE = "birth date"
    #: An optional number (``whole`` if so marked) within the bounds, kept as a nullable
    #: integer of ``dtype`` (truncated).
    INTEGER = "integer"
    #: Optional text carried along only when the batch has the column (empty when missing).
    TAG = "tag"


@dataclass(frozen=True)
class FieldSpec:
    """One field of the contract: everything any validator or document needs to know."""

    name: str
    kind: Kind
    required: bool
    description: str
    #: Why a value is refused when it is not of its kind (bad shape, not a number, ...).
    message: str = ""
    #: Why a value of the right kind is refused for its size (defaults to ``message``).
    bounds_message: str = ""
    #: Bounds, inclusive (``ge``, ``le``) or exclusive (``lt``); epoch ms for times.
    ge: float | None = None
    le: float | None = None
    lt: float | None = None
    pattern: str | None = None
    choices: tuple[str, ...] = ()
    upper: bool = False
    whole: bool = False
    dtype: str = ""
    #: Whether the API's request body has the field (the simulator's scenario it has not).
    in_request: bool = True

    @property
    def out_of_bounds(self) -> str:
        """The message for a value outside the bounds."""
        return self.bounds_message or self.message


_NUMBER = "must be a number"


def _coordinate(name: str, limit: float, what: str) -> FieldSpec:
    return FieldSpec(
        name, Kind.NUMBER, True, f"{what}, [-{limit:g}, {limit:g}].", message=_NUMBER,
        bounds_message=f"out of range [-{limit:g}, {limit:g}]", ge=-limit, le=limit,
    )  # fmt: skip


def _optional_text(name: str, description: str) -> FieldSpec:
    return FieldSpec(name, Kind.TEXT, False, description)


#: Every field, in the order problems are reported (text that cannot be stored first, see
#: :data:`TEXT_CHECKED`). Messages are part of the contract: callers and tests read them.
FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "current_time", Kind.EVENT_MS, False,
        "Event time in epoch milliseconds (live-feed shape), 2000 to 2100; wins over "
        "`trans_date_trans_time` when both are given.",
        message=CURRENT_TIME_MESSAGE, ge=EVENT_TIME_RANGE_MS[0], lt=EVENT_TIME_RANGE_MS[1],
    ),
    FieldSpec(
        "trans_date_trans_time", Kind.EVENT_TEXT, False,
        "Event time, `YYYY-MM-DD HH:MM:SS` (UTC), 2000 to 2100. Required unless "
        "`current_time` is given.",
        message="not a date-time (expected YYYY-MM-DD HH:MM:SS)",
        bounds_message=EVENT_TIME_WINDOW_MESSAGE, pattern=DATE_TIME_PATTERN,
        ge=EVENT_TIME_RANGE_MS[0], lt=EVENT_TIME_RANGE_MS[1],
    ),
    FieldSpec(
        "cc_num", Kind.CARD, True,
        "Card number (PAN), 8 to 19 digits. Tokenized on arrival; never stored, logged or "
        "returned.",
        message="must be 8 to 19 digits", pattern=PAN_PATTERN,
    ),
    FieldSpec("merchant", Kind.TEXT, True, "Merchant name."),
    FieldSpec(
        "trans_num", Kind.TEXT, True,
        "Unique transaction id; decisions are stored (upserted) under it.",
    ),
    FieldSpec(
        "category", Kind.CHOICE, True,
        f"Merchant category: one of the fourteen Sparkov categories ({', '.join(CATEGORIES)}).",
        message=f"unknown category (known: {', '.join(CATEGORIES)})", choices=CATEGORIES,
    ),
    FieldSpec(
        "amt", Kind.NUMBER, True, "Amount in dollars, >= 0.",
        message=_NUMBER, bounds_message="must be >= 0", ge=0,
    ),
    _coordinate("lat", 90.0, "Card holder's home latitude"),
    _coordinate("long", 180.0, "Card holder's home longitude"),
    _coordinate("merch_lat", 90.0, "Merchant latitude"),
    _coordinate("merch_long", 180.0, "Merchant longitude"),
    FieldSpec(
        "city_pop", Kind.COUNT, True, "Population of the card holder's city, >= 0.",
        message="must be a whole number >= 0", ge=0, lt=2**63,
    ),
    FieldSpec(
        "gender", Kind.CHOICE, True, "Card holder's gender, `M` or `F` (either case).",
        message="must be M or F", choices=("M", "F"), upper=True,
    ),
    FieldSpec(
        "dob", Kind.BIRTH_DATE, True,
        "Card holder's date of birth, `YYYY-MM-DD`, after 1900 and before the event.",
        message="not a date (expected YYYY-MM-DD)",
        bounds_message="must lie between 1900 and the event time",
        pattern=DATE_PATTERN, ge=OLDEST_DOB_MS,
    ),
    _optional_text("first", "Card holder's first name."),
    _optional_text("last", "Card holder's last name."),
    _optional_text("street", "Card holder's street address."),
    _optional_text("city", "Card holder's city."),
    _optional_text("state", "Card holder's state (two letters)."),
    _optional_text("zip", "Card holder's ZIP code."),
    _optional_text("job", "Card holder's job."),
    FieldSpec(
        "unix_time", Kind.INTEGER, False,
        "Kaggle's epoch seconds (seven years behind the event time in the Kaggle files); "
        "carried, never used as event time.",
        message="must be a number (epoch seconds)", dtype="Int64",
    ),
    FieldSpec(
        LABEL_COLUMN, Kind.INTEGER, False,
        "Label, if the sender has one: 0 or 1.",
        message="must be 0 or 1 when given", ge=0, le=1, whole=True, dtype="Int8",
    ),
    FieldSpec(
        SCENARIO_COLUMN, Kind.TAG, False,
        "The simulator's fraud scenario of a fraudulent row, empty otherwise.",
        in_request=False,
    ),
)  # fmt: skip
FIELDS_BY_NAME: dict[str, FieldSpec] = {spec.name: spec for spec in FIELDS}
#: Fields checked for unstorable text, in this order, before anything else.
TEXT_CHECKED: tuple[str, ...] = (*KAGGLE_COLUMNS, "current_time", SCENARIO_COLUMN)
if set(TEXT_CHECKED) != set(FIELDS_BY_NAME):  # pragma: no cover - a declaration slip
    raise AssertionError("FIELDS and the known columns disagree")

#: NUL (PostgreSQL text cannot hold it) and lone surrogates (not encodable as UTF-8): a value
#: with either cannot be stored, so its record is rejected (the dead letter shows U+FFFD).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` with NUL and lone surrogates replaced by U+FFFD (the replacement character)."""
    return _UNSTORABLE.sub("\ufffd", text)


def has_unstorable(text: str) -> bool:
    """Whether ``text`` holds a NUL or a lone surrogate (see :data:`UNSTORABLE_MESSAGE`)."""
    return _UNSTORABLE.search(text) is not None
