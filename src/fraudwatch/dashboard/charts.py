"""Plotly figures of the overview and model pages, made from the small aggregated frames.

Pure functions (frame in, figure out), so the Streamlit script only places them. The state
view is a bar chart rather than a map: Plotly's US map needs geographic outlines fetched
from a CDN at view time, which an offline or locked-down host cannot reach.
"""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fraudwatch.dashboard.buckets import WIDTHS, Bucket
from fraudwatch.dashboard.model_info import PrCurve

_FLAGGED = "#d62728"
_VOLUME = "#1f77b4"
_MEAN = "#2ca02c"
_P95 = "#ff7f0e"
_HEIGHT = 320
_PARTIAL_OPACITY = 0.25
#: Tick labels of a time axis, per bucket width (Plotly's d3 time format).
_TICK_FORMATS: dict[Bucket, str] = {"minute": "%H:%M", "hour": "%b %d %H:00", "day": "%b %d"}
#: Up to this many buckets, every bucket start gets its own tick.
_FEW_BUCKETS = 8


def _layout(figure: go.Figure, title: str) -> go.Figure:
    figure.update_layout(
        title={"text": title, "x": 0.01},
        height=_HEIGHT,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
        hovermode="x unified",
    )
    return figure


def _bucket_of(trend: pd.DataFrame) -> Bucket:
    bucket = trend.attrs.get("bucket")
    return bucket if bucket in WIDTHS else "day"


def partial_mask(trend: pd.DataFrame, now: datetime) -> pd.Series:
    """Which buckets are still filling: those that end after the stream clock's ``now``."""
    if trend.empty:
        return pd.Series([], dtype=bool)
    ends = pd.to_datetime(trend["bucket_start"]) + WIDTHS[_bucket_of(trend)]
    return pd.Series(ends > pd.Timestamp(now), index=trend.index)


def partial_note(trend: pd.DataFrame, now: datetime) -> str | None:
    """A line under the trend charts when their newest bucket is unfinished (else None)."""
    if not partial_mask(trend, now).any():
        return None
    bucket = _bucket_of(trend)
    return (
        f"The newest {bucket} is still filling (stream clock {now:%Y-%m-%d %H:%M:%S} UTC): "
        "it is drawn lighter and dashed, as its counts are not final."
    )


def count_axis(most: float) -> dict[str, object]:
    """A y axis of whole numbers (about five ticks), whatever the largest count."""
    step = max(1, math.ceil(most / 5)) if most > 0 else 1
    return {"tickformat": ",d", "tickmode": "linear", "tick0": 0, "dtick": step,
            "rangemode": "tozero"}  # fmt: skip


def time_axis(figure: go.Figure, starts: pd.Series, bucket: Bucket) -> None:
    """Ticks a person reads: bucket-width formats, half a bucket of margin, one tick per
    bucket when there are few (one bucket alone otherwise gets millisecond ticks)."""
    if starts.empty:
        return
    width = WIDTHS[bucket]
    times = pd.to_datetime(starts)
    span = [times.min() - width / 2, times.max() + width / 2]
    options: dict[str, object] = {"range": span, "tickformat": _TICK_FORMATS[bucket]}
    if len(times) <= _FEW_BUCKETS:
        options.update(tickmode="array", tickvals=list(times))
    else:
        options.update(nticks=8)
    figure.update_xaxes(**options)


def _bar_width(bucket: Bucket) -> float:
    """Bars 80 % of a bucket wide, in milliseconds (a date axis's unit); Plotly's own width
    comes from the gaps between bars, and a lone bar has none."""
    return WIDTHS[bucket].total_seconds() * 1000 * 0.8


def _line_with_partial(
    figure: go.Figure, trend: pd.DataFrame, partial: pd.Series, column: str,
    name: str, color: str, **where: object,
) -> None:  # fmt: skip
    """A solid line over the finished buckets, dashed and lighter into the unfinished one."""
    done = trend[~partial]
    figure.add_trace(
        go.Scatter(x=done["bucket_start"], y=done[column], name=name, mode="lines+markers",
                   line={"color": color}, legendgroup=name),
        **where,
    )  # fmt: skip
    if partial.any():
        tail = trend.iloc[max(0, len(done) - 1) :] if len(done) else trend[partial]
        figure.add_trace(
            go.Scatter(x=tail["bucket_start"], y=tail[column], name=f"{name} (unfinished)",
                       mode="lines+markers", line={"color": color, "dash": "dash"},
                       opacity=0.45, legendgroup=name, showlegend=False),
            **where,
        )  # fmt: skip


def volume_chart(trend: pd.DataFrame, now: datetime) -> go.Figure:
    """Transactions (bars) and flagged transactions (line, own axis) per time bucket;
    the bucket still filling at the stream clock's ``now`` is drawn lighter and dashed."""
    bucket = _bucket_of(trend)
    partial = partial_mask(trend, now)
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(
        go.Bar(
            x=trend["bucket_start"],
            y=trend["transactions"],
            name="transactions",
            width=_bar_width(bucket),
            marker={
                "color": _VOLUME,
                "opacity": [_PARTIAL_OPACITY if p else 0.6 for p in partial],
                "pattern": {"shape": ["/" if p else "" for p in partial]},
            },
        ),
        secondary_y=False,
    )
    _line_with_partial(figure, trend, partial, "flagged", "flagged", _FLAGGED, secondary_y=True)
    most = float(trend["transactions"].max()) if len(trend) else 0.0
    figure.update_yaxes(title_text="transactions", secondary_y=False, **count_axis(most))
    # Flagged counts are small integers: whole-number ticks on their own grid-less axis.
    most = float(trend["flagged"].max()) if len(trend) else 0.0
    figure.update_yaxes(title_text="flagged", secondary_y=True, showgrid=False, **count_axis(most))
    time_axis(figure, trend["bucket_start"], bucket)
    return _layout(figure, f"Volume and flagged per {bucket}")


def probability_chart(trend: pd.DataFrame, threshold: float | None, now: datetime) -> go.Figure:
    """Mean and 95th-percentile fraud probability per time bucket, with the threshold."""
    bucket = _bucket_of(trend)
    partial = partial_mask(trend, now)
    figure = go.Figure()
    _line_with_partial(figure, trend, partial, "mean_probability", "mean", _MEAN)
    _line_with_partial(figure, trend, partial, "p95_probability", "p95", _P95)
    time_axis(figure, trend["bucket_start"], bucket)
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
        go.Bar(
            x=daily["day"],
            y=daily["labelled"],
            name="labelled alerts",
            opacity=0.4,
            width=_bar_width("day"),
        ),
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
    most = float(daily["labelled"].max()) if len(daily) else 0.0
    figure.update_yaxes(
        title_text="labelled alerts", secondary_y=True, showgrid=False, **count_axis(most)
    )
    time_axis(figure, daily["day"], "day")
    return _layout(figure, "Precision of alerts, by day of labelling")


def pr_curve_chart(curve: PrCurve) -> go.Figure:
    """The model's validation precision-recall curve."""
    figure = go.Figure(go.Scatter(x=curve.recall, y=curve.precision, mode="lines", name="model"))
    figure.update_xaxes(title_text="recall", range=[0, 1])
    figure.update_yaxes(title_text="precision", range=[0, 1.05])
    figure.update_layout(hovermode="closest")
    return _layout(figure, "Precision-recall on validation")
