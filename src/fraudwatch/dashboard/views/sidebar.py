"""The sidebar: page choice, live refresh and the filters, kept in ``st.session_state``.

Widgets carry fixed keys, so their values survive reruns, live refreshes and page changes;
:func:`filters_from_state` turns those values into a :class:`Filters` (a pure function of
the state mapping, so it is testable without Streamlit) each time the live part reruns,
which lets a relative range like "last hour" slide forward as transactions arrive.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

import streamlit as st

from fraudwatch.dashboard.filters import (
    DECISION_CHOICES,
    LABEL_CHOICES,
    LABEL_NAMES,
    RISK_LEVELS,
    TIME_PRESETS,
    Filters,
    time_range,
)
from fraudwatch.schema import CATEGORIES

PAGES = ("Overview", "Transactions", "Alerts", "Model")
#: Live refresh choices → seconds between refreshes (None: off).
REFRESH_CHOICES: dict[str, float | None] = {"off": None, "5 s": 5.0, "15 s": 15.0, "60 s": 60.0}
DEFAULT_REFRESH = "15 s"
CUSTOM = "Custom"


class Key:
    """Session-state keys of the sidebar widgets."""

    PAGE = "page"
    REFRESH = "refresh"
    TIME = "f_time"
    DATES = "f_dates"
    CATEGORIES = "f_categories"
    STATES = "f_states"
    MERCHANT = "f_merchant"
    AMOUNT_MIN = "f_amount_min"
    AMOUNT_MAX = "f_amount_max"
    PROBABILITY = "f_probability"
    DECISION = "f_decision"
    RISK = "f_risk"
    LABEL = "f_label"


_DECISION_NAMES = {"all": "all", "flagged": "flagged only", "passed": "passed only"}


def filters_from_state(
    state: Mapping[str, Any] | Any, newest_event: datetime | None
) -> tuple[Filters | None, list[str]]:
    """The filters the widgets describe, or None and the problems in words."""
    preset = state.get(Key.TIME, "All time")
    custom = None
    if preset == CUSTOM:
        dates: tuple[date, ...] = tuple(state.get(Key.DATES) or ())
        if len(dates) != 2:
            return None, ["choose the first and last day of the custom time range"]
        first, last = datetime.combine(dates[0], time()), datetime.combine(dates[1], time())
        custom = (first, last + timedelta(days=1))
    probability = state.get(Key.PROBABILITY, (0.0, 1.0))
    try:
        start, end = time_range(preset, newest_event, custom)
        filters = Filters(
            start=start,
            end=end,
            categories=tuple(state.get(Key.CATEGORIES) or ()),
            states=tuple(state.get(Key.STATES) or ()),
            merchant=str(state.get(Key.MERCHANT) or ""),
            amount_min=state.get(Key.AMOUNT_MIN),
            amount_max=state.get(Key.AMOUNT_MAX),
            probability_min=float(probability[0]),
            probability_max=float(probability[1]),
            decision=state.get(Key.DECISION, "all"),
            risk_levels=tuple(state.get(Key.RISK) or ()),
            label=state.get(Key.LABEL, "all"),
        )
    except ValueError as error:
        return None, [str(error).removeprefix("invalid filters: ")]
    return filters, []


def render_sidebar(states: list[str], newest_event: datetime | None, database: str) -> None:
    """Draw the sidebar widgets (their values land in ``st.session_state``)."""
    bar = st.sidebar
    bar.title("fraudwatch")
    bar.radio("Page", PAGES, key=Key.PAGE)
    bar.segmented_control(
        "Live refresh",
        list(REFRESH_CHOICES),
        key=Key.REFRESH,
        default=DEFAULT_REFRESH,
        help="How often the page reloads its numbers; filters are kept.",
    )
    bar.header("Filters")
    bar.selectbox(
        "Time range",
        [*TIME_PRESETS, CUSTOM],
        key=Key.TIME,
        help="Relative ranges count back from the stream clock: the newest stored "
        "transaction's time (a replay of old files or a simulated clock ahead of the wall "
        "clock still shows its last 15 minutes), shown above the page.",
    )
    if st.session_state.get(Key.TIME) == CUSTOM:
        newest_day = newest_event.date() if newest_event else date.today()
        bar.date_input("Days (UTC)", value=(newest_day, newest_day), key=Key.DATES)
    bar.multiselect("Category", CATEGORIES, key=Key.CATEGORIES, placeholder="all categories")
    bar.multiselect("State", states, key=Key.STATES, placeholder="all states")
    bar.text_input("Merchant contains", key=Key.MERCHANT, placeholder="e.g. Kirlin")
    low, high = bar.columns(2)
    low.number_input("Amount from ($)", min_value=0.0, value=None, key=Key.AMOUNT_MIN)
    high.number_input("Amount to ($)", min_value=0.0, value=None, key=Key.AMOUNT_MAX)
    bar.slider("Fraud probability", 0.0, 1.0, (0.0, 1.0), step=0.01, key=Key.PROBABILITY)
    bar.selectbox(
        "Decision", DECISION_CHOICES, key=Key.DECISION, format_func=_DECISION_NAMES.__getitem__
    )
    bar.multiselect("Risk level", RISK_LEVELS, key=Key.RISK, placeholder="all risk levels")
    bar.selectbox(
        "Analyst label", LABEL_CHOICES, key=Key.LABEL, format_func=LABEL_NAMES.__getitem__
    )
    bar.caption(f"Database: `{database}` (read-only; labels are the only writes)")
