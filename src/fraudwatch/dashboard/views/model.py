"""The model page: version, validation metrics, PR curve, threshold and live precision."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from fraudwatch.config import get_settings
from fraudwatch.dashboard import charts, formats
from fraudwatch.dashboard.filters import Filters
from fraudwatch.dashboard.model_info import (
    PrCurve,
    current_model,
    decisions_by_model,
    find_pr_curve,
    live_precision,
)
from fraudwatch.dashboard.source import Reader


def model_page(reader: Reader, filters: Filters) -> None:
    """What decides, how well it validated, and how precise its alerts are in production."""
    info = current_model(reader)
    if info is None:
        st.info("No model has been registered or used yet.")
        return
    window = info.metadata.get("training_window") or {}
    # A version is ~27 characters and a time 19: wide cards, so neither is ever cut.
    top = st.columns([3, 2])
    top[0].metric("Model version", info.version)
    top[1].metric("Registered (UTC)", formats.moment(info.registered_at))
    second = st.columns([1, 1, 3])
    second[0].metric("Threshold", "—" if info.threshold is None else f"{info.threshold:.4f}")
    second[1].metric("Threshold policy", str(info.metadata.get("threshold_policy", "—")))
    st.caption(
        ("Champion model. " if info.is_champion else "")
        + f"Trained on {_when(window.get('start'))} → {_when(window.get('end'))}, "
        f"validated from {_when(window.get('validation_start'))}."
        if window
        else "No training metadata registered for this version."
    )
    left, right = st.columns(2)
    left.subheader("Validation metrics")
    metrics = info.validation_text()
    if metrics.empty:
        left.info("This version registered no validation metrics.")
    else:
        left.dataframe(metrics, key="validation_metrics")
    right.subheader("Precision-recall curve")
    root = get_settings().data_dir / "models"  # registry.models_root, without LightGBM
    curve = find_pr_curve(info, [root])
    if isinstance(curve, PrCurve):
        right.plotly_chart(charts.pr_curve_chart(curve), key="chart_pr")
    elif curve is not None:
        right.image(str(curve), caption=str(curve.name))
    else:
        right.info(
            "No PR curve for this version: its metadata holds no curve and no "
            f"`{root / info.version}/report/pr_curve.png` is reachable from this host. "
            "`fraudwatch evaluate --scores … --labels … --report "
            f"{root / info.version}/report` draws one there."
        )
    st.subheader("Live precision of alerts")
    daily = live_precision(reader, filters)
    if daily.empty:
        st.info("No alert has been labelled yet: precision appears once analysts label alerts.")
    else:
        labelled, confirmed = int(daily["labelled"].sum()), int(daily["confirmed"].sum())
        cols = st.columns(3)
        cols[0].metric("Labelled alerts", formats.count(labelled))
        cols[1].metric("Confirmed fraud", formats.count(confirmed))
        cols[2].metric("Precision since labels arrived", formats.percent(confirmed / labelled, 1))
        st.plotly_chart(charts.precision_chart(daily), key="chart_precision")
    st.subheader("Decisions per model version")
    st.dataframe(
        decisions_by_model(reader, filters),
        hide_index=True,
        key="model_usage",
        column_config={
            "model_version": st.column_config.TextColumn("model version", width=300),
            "decisions": st.column_config.NumberColumn("decisions", format="localized"),
            "flagged": st.column_config.NumberColumn("flagged", format="localized"),
            "last_used": st.column_config.DatetimeColumn(
                "last transaction (UTC)", format="YYYY-MM-DD HH:mm:ss"
            ),
        },
    )


def _when(value: object) -> str:
    """A training-window time from the metadata, to the second (``?`` when missing)."""
    if value is None:
        return "?"
    try:
        return formats.moment(pd.Timestamp(str(value)).to_pydatetime())
    except ValueError:
        return str(value)
