"""Plotly figures of the overview and model pages, made from the small aggregated frames.

Pure functions (frame in, figure out), so the Streamlit script only places them. The state
view is a bar chart rather than a map: Plotly's US map needs geographic outlines fetched
from a CDN at view time, which an offline or locked-down host cannot reach.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fraudwatch.dashboard.model_info import PrCurve

_FLAGGED = "#d62728"
_VOLUME = "#1f77b4"
_MEAN = "#2ca02c"
_P95 = "#ff7f0e"
_HEIGHT = 320


def _layout(figure: go.Figure, title: str) -> go.Figure:
    figure.update_layout(
        title={"text": title, "x": 0.01},
        height=_HEIGHT,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
        hovermode="x unified",
    )
    return figure


def volume_chart(trend: pd.DataFrame) -> go.Figure:
    """Transactions (bars) and flagged transactions (line, own axis) per time bucket."""
    bucket = str(trend.attrs.get("bucket", "bucket"))
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(
        go.Bar(
            x=trend["bucket_start"],
            y=trend["transactions"],
            name="transactions",
            marker_color=_VOLUME,
            opacity=0.6,
        ),
        secondary_y=False,
    )
    figure.add_trace(
        go.Scatter(
            x=trend["bucket_start"],
            y=trend["flagged"],
            name="flagged",
            mode="lines+markers",
            line={"color": _FLAGGED},
        ),
        secondary_y=True,
    )
    figure.update_yaxes(title_text="transactions", secondary_y=False, rangemode="tozero")
    # Flagged counts are small integers: whole-number ticks on their own grid-less axis.
    most = int(trend["flagged"].max()) if len(trend) else 0
    figure.update_yaxes(
        title_text="flagged", secondary_y=True, rangemode="tozero", tickformat=",d",
        tickmode="linear", tick0=0, dtick=max(1, math.ceil(most / 5)), showgrid=False,
    )  # fmt: skip
    return _layout(figure, f"Volume and flagged per {bucket}")


def probability_chart(trend: pd.DataFrame, threshold: float | None) -> go.Figure:
    """Mean and 95th-percentile fraud probability per time bucket, with the threshold."""
    bucket = str(trend.attrs.get("bucket", "bucket"))
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=trend["bucket_start"], y=trend["mean_probability"], name="mean", line_color=_MEAN
        )
    )
    figure.add_trace(
        go.Scatter(x=trend["bucket_start"], y=trend["p95_probability"], name="p95", line_color=_P95)
    )
    if threshold is not None:
        figure.add_hline(
            y=threshold,
            line_dash="dash",
            line_color=_FLAGGED,
            annotation_text=f"threshold {threshold:.3f}",
        )
    figure.update_yaxes(title_text="fraud probability", range=[0, 1])
    return _layout(figure, f"Fraud probability per {bucket}")


def category_chart(categories: pd.DataFrame) -> go.Figure:
    """Flag rate per category (horizontal bars, highest on top)."""
    ordered = categories.sort_values("flag_rate")
    figure = go.Figure(
        go.Bar(
            x=ordered["flag_rate"] * 100,
            y=ordered["category"],
            orientation="h",
            marker_color=_FLAGGED,
            customdata=ordered[["flagged", "transactions"]],
            hovertemplate="%{y}: %{x:.2f} % (%{customdata[0]:,} of %{customdata[1]:,})"
            "<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="flag rate (%)", rangemode="tozero")
    figure.update_layout(hovermode="closest")
    return _layout(figure, "Flag rate by category")


def state_chart(states: pd.DataFrame) -> go.Figure:
    """Flagged amount per state (bars, largest first)."""
    figure = go.Figure(
        go.Bar(
            x=states["state"],
            y=states["flagged_amount"],
            marker_color=_FLAGGED,
            customdata=states[["flagged"]],
            hovertemplate="%{x}: $%{y:,.2f} in %{customdata[0]:,} flagged<extra></extra>",
        )
    )
    figure.update_yaxes(title_text="flagged amount ($)", rangemode="tozero")
    figure.update_layout(hovermode="closest")
    return _layout(figure, "Flagged amount by state")


def precision_chart(daily: pd.DataFrame) -> go.Figure:
    """Live precision of alerts per day of labelling, and its running value."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(
        go.Bar(x=daily["day"], y=daily["labelled"], name="labelled alerts", opacity=0.4),
        secondary_y=True,
    )
    figure.add_trace(
        go.Scatter(x=daily["day"], y=daily["precision"], name="precision", mode="lines+markers"),
        secondary_y=False,
    )
    figure.add_trace(
        go.Scatter(
            x=daily["day"], y=daily["running_precision"], name="running precision", line_dash="dot"
        ),
        secondary_y=False,
    )
    figure.update_yaxes(title_text="precision", range=[0, 1.05], secondary_y=False)
    figure.update_yaxes(title_text="labelled", secondary_y=True, rangemode="tozero")
    return _layout(figure, "Precision of alerts, by day of labelling")


def pr_curve_chart(curve: PrCurve) -> go.Figure:
    """The model's validation precision-recall curve."""
    figure = go.Figure(go.Scatter(x=curve.recall, y=curve.precision, mode="lines", name="model"))
    figure.update_xaxes(title_text="recall", range=[0, 1])
    figure.update_yaxes(title_text="precision", range=[0, 1.05])
    figure.update_layout(hovermode="closest")
    return _layout(figure, "Precision-recall on validation")
