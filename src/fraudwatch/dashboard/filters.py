"""What the analyst is looking at: one :class:`Filters` value applied to every dashboard query.

The sidebar builds it, every query in :mod:`fraudwatch.dashboard.queries` and
:mod:`fraudwatch.dashboard.browse` applies it, and the CSV export receives it through the
URL (:meth:`Filters.to_query` / :meth:`Filters.from_query`), so what is exported is exactly
what is shown. Times are naive UTC, like ``decisions.event_time``.

Relative time ranges ("last hour") count back from the newest stored transaction, not from
the wall clock: a replay of 2020 data or a paused feed still shows its last hour.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Literal, get_args
from urllib.parse import urlencode

from fraudwatch.schema import CATEGORIES

#: Risk levels the pipeline assigns (``fraudwatch.decision.RISK_LEVELS``; not imported,
#: so the dashboard does not load LightGBM).
RISK_LEVELS: tuple[str, ...] = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
DecisionFilter = Literal["all", "flagged", "passed"]
LabelFilter = Literal["all", "unlabelled", "labelled", "fraud", "false_positive"]
DECISION_CHOICES: tuple[DecisionFilter, ...] = get_args(DecisionFilter)
LABEL_CHOICES: tuple[LabelFilter, ...] = get_args(LabelFilter)
LABEL_NAMES: dict[LabelFilter, str] = {
    "all": "any",
    "unlabelled": "not labelled yet",
    "labelled": "labelled",
    "fraud": "confirmed fraud",
    "false_positive": "false positive",
}
#: Relative time ranges offered in the sidebar; None = everything stored.
TIME_PRESETS: dict[str, timedelta | None] = {
    "All time": None,
    "Last 15 minutes": timedelta(minutes=15),
    "Last hour": timedelta(hours=1),
    "Last 24 hours": timedelta(days=1),
    "Last 7 days": timedelta(days=7),
    "Last 30 days": timedelta(days=30),
}
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"
_MAX_MERCHANT_SEARCH = 100


@dataclass(frozen=True)
class Filters:
    """The current selection: every field narrows the rows; the defaults select everything."""

    start: datetime | None = None  # inclusive, naive UTC
    end: datetime | None = None  # exclusive, naive UTC
    categories: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    merchant: str = ""  # case-insensitive substring
    amount_min: float | None = None
    amount_max: float | None = None
    probability_min: float = 0.0
    probability_max: float = 1.0
    decision: DecisionFilter = "all"
    risk_levels: tuple[str, ...] = ()
    label: LabelFilter = "all"

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("invalid filters: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """What is wrong with these filters, in words (empty when they are usable)."""
        problems = []
        if self.start and self.end and self.start >= self.end:
            problems.append("the time range ends before it starts")
        unknown = sorted(set(self.categories) - set(CATEGORIES))
        if unknown:
            problems.append(f"unknown categories: {', '.join(unknown)}")
        unknown = sorted(set(self.risk_levels) - set(RISK_LEVELS))
        if unknown:
            problems.append(f"unknown risk levels: {', '.join(unknown)}")
        if self.decision not in DECISION_CHOICES:
            problems.append(f"decision must be one of {', '.join(DECISION_CHOICES)}")
        if self.label not in LABEL_CHOICES:
            problems.append(f"label must be one of {', '.join(LABEL_CHOICES)}")
        for name in ("amount_min", "amount_max", "probability_min", "probability_max"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                problems.append(f"{name} must be a finite number")
        if not 0.0 <= self.probability_min <= self.probability_max <= 1.0:
            problems.append("the probability range must lie within 0–1, lowest first")
        if (
            self.amount_min is not None
            and self.amount_max is not None
            and self.amount_min > self.amount_max
        ):
            problems.append("the amount range has its minimum above its maximum")
        if len(self.merchant) > _MAX_MERCHANT_SEARCH:
            problems.append(f"merchant search is longer than {_MAX_MERCHANT_SEARCH} characters")
        return problems

    def with_(self, **changes: object) -> Filters:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def is_everything(self) -> bool:
        """Whether no filter narrows the rows."""
        return self == Filters()

    def to_query(self) -> str:
        """The filters as a URL query string (only the fields that differ from the default)."""
        pairs: list[tuple[str, str]] = []
        default = Filters()
        for spec in fields(self):
            value = getattr(self, spec.name)
            if value == getattr(default, spec.name):
                continue
            if isinstance(value, tuple):
                pairs.extend((spec.name, item) for item in value)
            elif isinstance(value, datetime):
                pairs.append((spec.name, value.strftime(_TIME_FORMAT)))
            else:
                pairs.append((spec.name, repr(value) if isinstance(value, float) else str(value)))
        return urlencode(pairs)

    @classmethod
    def from_query(cls, query: Mapping[str, list[str]]) -> Filters:
        """Filters from parsed query parameters (``parse_qs`` form); ValueError if invalid."""
        known = {spec.name for spec in fields(cls)}
        unknown = sorted(set(query) - known)
        if unknown:
            raise ValueError(f"unknown filter parameters: {', '.join(unknown)}")

        def one(name: str) -> str | None:
            values = query.get(name)
            return values[-1] if values else None

        def number(name: str, default: float | None = None) -> float | None:
            text = one(name)
            return default if text is None else float(text)

        def moment(name: str) -> datetime | None:
            text = one(name)
            return None if text is None else datetime.strptime(text, _TIME_FORMAT)

        decision = one("decision") or "all"
        label = one("label") or "all"
        if decision not in DECISION_CHOICES or label not in LABEL_CHOICES:
            raise ValueError("invalid decision or label filter")
        return cls(
            start=moment("start"),
            end=moment("end"),
            categories=tuple(query.get("categories", ())),
            states=tuple(query.get("states", ())),
            merchant=one("merchant") or "",
            amount_min=number("amount_min"),
            amount_max=number("amount_max"),
            probability_min=number("probability_min", 0.0) or 0.0,
            probability_max=number("probability_max", 1.0) or 0.0,
            decision=decision,
            risk_levels=tuple(query.get("risk_levels", ())),
            label=label,
        )


def time_range(
    preset: str,
    newest_event: datetime | None,
    custom: tuple[datetime, datetime] | None = None,
) -> tuple[datetime | None, datetime | None]:
    """``(start, end)`` of a sidebar time choice: a preset counted back from the newest event,
    or a custom range (``preset == "Custom"``)."""
    if preset == "Custom":
        if custom is None:
            raise ValueError("a custom time range needs its start and end")
        return custom
    if preset not in TIME_PRESETS:
        raise ValueError(f"unknown time range {preset!r}; known: {', '.join(TIME_PRESETS)}")
    span = TIME_PRESETS[preset]
    if span is None or newest_event is None:
        return None, None
    end = newest_event + timedelta(microseconds=1)  # the newest event itself is included
    return end - span, end
