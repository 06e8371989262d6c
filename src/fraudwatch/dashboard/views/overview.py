"""The overview page: KPI cards, label counts, and the four trend charts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import streamlit as st

from fraudwatch.dashboard import charts, formats, live, queries
from fraudwatch.dashboard.filters import Filters
from fraudwatch.dashboard.model_info import current_model
from fraudwatch.dashboard.source import Reader, reader_for
from fraudwatch.monitoring import FLAG_RATE_BAND, FlagRateVerdict
from fraudwatch.monitoring.live import MIN_TRANSACTIONS

NO_MATCH = "No transaction matches the filters."


#: What ``decisions.latency_ms`` measures (``fraudwatch.decision.make_decisions``).
LATENCY_HELP = (
    "Per transaction, from the moment the pipeline's input received it to the moment its "
    "decision was made (``decisions.latency_ms``): micro-batch wait, validation, features and "
    "scoring. The database write after it is not included. {which} of the selection."
)


def overview_page(reader: Reader, filters: Filters, clock: queries.StreamClock) -> None:
    """KPIs of the filtered transactions, then volume, probability, category and state charts."""
    data = queries.overview_data(reader, filters)
    kpis = data.overview
    model = current_model(reader)
    # Four cards a row: at 1280 px wide a fifth would cut a six-figure amount.
    first = st.columns(4)
    first[0].metric("Transactions scored", formats.count(kpis.scored))
    first[1].metric("Flagged", formats.count(kpis.flagged))
    first[2].metric("Flag rate", formats.percent(kpis.flag_rate))
    first[3].metric(
        "Amount at risk",
        formats.money(kpis.amount_at_risk),
        help="sum of the flagged transactions' amounts",
    )
    second = st.columns(4)
    second[0].metric(
        "Decision latency, median",
        formats.milliseconds(kpis.latency_p50_ms),
        help=LATENCY_HELP.format(which="Median"),
    )
    second[1].metric(
        "Decision latency, p99",
        formats.milliseconds(kpis.latency_p99_ms),
        help=LATENCY_HELP.format(which="99th percentile"),
    )
    second[2].metric(
        "Alert precision",
        formats.percent(kpis.alert_precision, 1),
        help="share of labelled alerts whose label says fraud",
    )
    second[3].metric(
        "Labelled alerts",
        formats.count(kpis.labelled_alerts),
        help="flagged transactions with a label (chargeback or verdict), "
        f"of {formats.count(kpis.flagged)}",
    )
    third = st.columns(4)
    third[0].metric(
        "Confirmed fraud",
        formats.count(kpis.confirmed_fraud),
        help="transactions whose label (a chargeback, else an analyst's verdict) says fraud",
    )
    third[1].metric(
        "Confirmed amount",
        formats.money(kpis.confirmed_amount),
        help="sum of the amounts of the confirmed frauds",
    )
    third[2].metric("False positives", formats.count(kpis.false_positives))
    third[3].metric(
        "Unlabelled alerts",
        formats.count(kpis.flagged - kpis.labelled_alerts),
        help="flagged transactions with no label yet (the alert queue)",
    )
    # Versions and timestamps are long: they get wide cards, so they are never cut off.
    fourth = st.columns([2, 3])
    fourth[0].metric("Last transaction", formats.moment(kpis.last_event), help="UTC")
    fourth[1].metric("Model version", model.version if model else "—")
    st.caption(
        f"Labels: {formats.count(kpis.confirmed_fraud)} confirmed fraud · "
        f"{formats.count(kpis.false_positives)} false positives · "
        f"{formats.count(kpis.labelled_alerts)} of {formats.count(kpis.flagged)} alerts labelled"
    )
    live_row(reader, filters, clock, model.metadata if model else {})
    if kpis.sample_percent is not None:
        st.caption(
            f"Latency percentiles estimated on a {kpis.sample_percent:g} % block sample "
            "of the selection (exact up to 200,000 rows)."
        )
    if kpis.scored == 0:
        st.info(NO_MATCH)
        return
    trend = data.trend
    left, right = st.columns(2)
    left.plotly_chart(charts.volume_chart(trend, clock.now), key="chart_volume")
    threshold = model.threshold if model else None
    right.plotly_chart(
        charts.probability_chart(trend, threshold, clock.now), key="chart_probability"
    )
    partial = charts.partial_note(trend, clock.now)
    if partial:
        st.caption(partial)
    left, right = st.columns(2)
    left.plotly_chart(charts.category_chart(data.categories), key="chart_category")
    states = data.states
    if states.empty:
        right.info("No flagged transaction in this selection.")
    else:
        right.plotly_chart(charts.state_chart(states), key="chart_state")


#: How long the live figures are cached: they read every row of their window.
LIVE_TTL_S = 15


@st.cache_data(ttl=LIVE_TTL_S, show_spinner=False)
def _live_comparison(
    url: str, time_range: Filters, clock: datetime, metadata: dict[str, Any]
) -> live.LiveComparison:
    return live.live_vs_validation(reader_for(url), time_range, clock, metadata)


def live_row(
    reader: Reader, filters: Filters, clock: queries.StreamClock, metadata: dict[str, Any]
) -> None:
    """Live flag rate, precision and recall, each with the validation figure beside, how many
    labelled transactions they rest on, and a warning when the flag rate leaves its band."""
    time_range = Filters(start=filters.start, end=filters.end)  # the only filter that applies
    data = _live_comparison(reader.url, time_range, clock.now, metadata)
    figures, validation = data.figures, data.validation
    delay = formats.duration_ms(data.label_delay_ms)
    st.subheader("Live vs validation")
    window = "the selected time range" if data.from_filters else "the last 7 days of stream time"
    st.caption(
        f"Over {window} ({formats.moment(data.start)} → {formats.moment(clock.now)} UTC), "
        "all transactions (the other filters do not apply). A transaction counts as labelled "
        f"when its chargeback or analyst verdict has arrived (a chargeback beats a verdict), or "
        f"as legitimate once it is older than the model's label delay ({delay}) with none."
    )
    enough = data.enough_labels
    cells = st.columns(4)
    cells[0].metric(
        "Live flag rate",
        formats.percent(live.share(figures.flag_rate)),
        delta=f"validation {formats.percent(live.share(validation.flag_rate))}",
        delta_color="off",
        delta_arrow="off",
        help=f"{formats.count(figures.flagged)} flagged of {formats.count(figures.transactions)}",
    )
    for cell, name, value, valid in (
        (cells[1], "Live precision", figures.precision, validation.precision),
        (cells[2], "Live recall", figures.recall, validation.recall),
    ):
        cell.metric(
            name,
            formats.percent(live.share(value) if enough else None, 1),
            delta=f"validation {formats.percent(live.share(valid), 1)}",
            delta_color="off",
            delta_arrow="off",
        )
    cells[3].metric(
        "Labelled transactions",
        formats.count(figures.labelled),
        delta=f"of {formats.count(figures.transactions)}",
        delta_color="off",
        delta_arrow="off",
        help=f"{formats.count(figures.frauds)} frauds among them, "
        f"{formats.count(figures.true_positives)} of them flagged",
    )
    if not enough:
        st.caption(
            f"Live precision and recall: not enough labels yet ({figures.labelled:,} labelled "
            f"transactions in the window; shown from {live.MIN_LABELLED})."
        )
    low, high = FLAG_RATE_BAND
    if figures.verdict.warns:
        st.warning(
            f"The live flag rate ({formats.percent(figures.flag_rate)}) is "
            f"{figures.flag_rate_ratio:.2f}× validation's "
            f"({formats.percent(validation.flag_rate)}), outside {low:g}×–{high:g}×: "
            f"{figures.verdict.value}. The traffic or the model's inputs have changed; "
            "check the alert queue and consider retraining.",
            icon="⚠️",
        )
    elif figures.verdict is FlagRateVerdict.UNKNOWN:
        why = (
            f"{figures.transactions:,} transactions in the window, it needs {MIN_TRANSACTIONS:,}"
            if figures.transactions < MIN_TRANSACTIONS
            else "the model registered no validation flag rate"
        )
        st.caption(f"No flag-rate check: {why}.")
