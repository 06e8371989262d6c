"""The overview page: KPI cards, label counts, and the four trend charts."""

from __future__ import annotations

import streamlit as st

from fraudwatch.dashboard import charts, formats, queries
from fraudwatch.dashboard.filters import Filters
from fraudwatch.dashboard.model_info import current_model
from fraudwatch.dashboard.source import Reader

NO_MATCH = "No transaction matches the filters."


#: What ``decisions.latency_ms`` measures (``fraudwatch.pipeline.decision.make_decisions``).
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
        help="share of labelled alerts that analysts confirmed as fraud",
    )
    second[3].metric(
        "Labelled alerts",
        formats.count(kpis.labelled_alerts),
        help=f"flagged transactions an analyst has labelled, of {formats.count(kpis.flagged)}",
    )
    third = st.columns(4)
    third[0].metric(
        "Confirmed fraud",
        formats.count(kpis.confirmed_fraud),
        help="transactions whose newest analyst label says fraud",
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
        help="flagged transactions no analyst has labelled yet (the alert queue)",
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
