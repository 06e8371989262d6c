"""The page frame: sidebar, empty and error states, and the live (auto-refreshing) body.

Only the body runs inside ``st.fragment(run_every=…)``: a refresh reruns the queries and
redraws the numbers while the sidebar (and with it every filter) stays as the analyst left
it. A database that does not answer after the retries shows an error in the body and is
tried again at the next refresh; an empty one shows what to start to fill it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from fraudwatch.dashboard import components, formats, queries
from fraudwatch.dashboard.source import Reader, reader_for
from fraudwatch.dashboard.views import model, overview, tables
from fraudwatch.dashboard.views.sidebar import (
    REFRESH_CHOICES,
    Key,
    filters_from_state,
    render_sidebar,
)
from fraudwatch.sinks.status import ComponentStatus

#: Without a new row for this long, the page warns that nothing is arriving.
STALE_AFTER = timedelta(minutes=5)
#: How long the component status rows are cached: a failure shows within seconds.
STATUS_TTL_S = 5
EMPTY_TITLE = "No decisions yet"


def main() -> None:
    """Draw the whole dashboard for the configured store."""
    st.set_page_config(page_title="fraudwatch", page_icon="🛡️", layout="wide")
    reader = reader_for()
    try:
        ready = reader.has_schema()
        states = _known_states(reader.url) if ready else []
        clock = queries.stream_clock(reader) if ready else None
    except SQLAlchemyError as error:
        render_sidebar([], None, reader.masked_url)
        _unreachable(reader, error)
        return
    render_sidebar(states, clock.now if clock else None, reader.masked_url)
    choice = st.session_state.get(Key.REFRESH) or "off"
    interval = REFRESH_CHOICES.get(choice)

    @st.fragment(run_every=interval)
    def live_body() -> None:
        try:
            _body(reader)
        except SQLAlchemyError as error:
            _unreachable(reader, error)

    live_body()


@st.cache_data(ttl=300, show_spinner=False)
def _known_states(url: str) -> list[str]:
    """The state filter's choices: a full scan, so asked at most every five minutes."""
    return queries.known_states(reader_for(url))


@st.cache_data(ttl=STATUS_TTL_S, show_spinner=False)
def component_statuses(url: str) -> list[ComponentStatus]:
    """Every component's status row (one query, cached for a few seconds)."""
    return components.read_component_statuses(reader_for(url))


def _problem_banner(statuses: list[ComponentStatus]) -> None:
    """An error banner per component that stopped scoring (failed or silent); none if all
    is well."""
    now = datetime.now(UTC)
    for status in components.problems(statuses, now):
        st.error(components.banner_text(status, now), icon=":material/error:")


def _unreachable(reader: Reader, error: SQLAlchemyError) -> None:
    st.error(
        f"The database `{reader.masked_url}` does not answer ({type(error).__name__}); "
        "the dashboard tries again at the next refresh."
    )


def _body(reader: Reader) -> None:
    page = st.session_state.get(Key.PAGE) or "Overview"
    statuses = component_statuses(reader.url)
    _problem_banner(statuses)
    st.title(page)
    if not reader.has_schema():
        empty_state(reader, "the database has no fraudwatch tables yet")
        return
    clock = queries.stream_clock(reader)
    if not clock.from_stream:
        empty_state(reader, "the decisions table is empty")
        return
    _freshness_line(clock, components.stream_speed(statuses))
    filters, problems = filters_from_state(st.session_state, clock.now)
    if filters is None:
        st.warning("Check the filters: " + "; ".join(problems))
        return
    if page == "Transactions":
        tables.transactions_page(reader, filters)
    elif page == "Alerts":
        tables.alerts_page(reader, filters)
    elif page == "Model":
        model.model_page(reader, filters)
    else:
        overview.overview_page(reader, filters, clock)


def empty_state(reader: Reader, why: str) -> None:
    """What an empty database looks like: why, and what to start to fill it."""
    st.info(
        f"**{EMPTY_TITLE}** — {why} (`{reader.masked_url}`).\n\n"
        "The dashboard shows what the pipeline decides. Start it with `fraudwatch demo` "
        "(simulated live feed), or `fraudwatch run --source FILE.csv|URL|simulator` "
        "against this database; this page fills in by itself as decisions arrive."
    )


def _freshness_line(clock: queries.StreamClock, speed: float | None) -> None:
    """The stream clock (what "last hour" counts back from), how fast it runs when it is
    simulated, and how long ago data arrived."""
    written = clock.last_write
    silence = None if written is None else datetime.now(UTC) - written
    described = clock.describe(speed)
    text = f"{described[0].upper()}{described[1:]}; relative time ranges count back from it"
    if silence is not None:
        text += f" · last data written {formats.duration(silence)} ago"
    st.caption(text)
    if silence is not None and silence > STALE_AFTER:
        st.warning(
            f"No new transactions for {formats.duration(silence)}: is the pipeline running? "
            "(`fraudwatch run` / `fraudwatch demo`)",
            icon="⚠️",
        )
