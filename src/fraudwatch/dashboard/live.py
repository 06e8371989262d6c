"""Live flag rate, precision and recall beside the validation figures, for the overview.

The figures themselves come from :mod:`fraudwatch.monitoring` (:func:`live_figures`: a
transaction's label is its effective label when one has arrived, legitimate once it is
older than the model's label delay with none, unknown before) over the rows of
:func:`fraudwatch.sinks.labels.monitoring_window`; this module only chooses the window and
the model's figures to compare with.

The window is the sidebar's time range when one is chosen, else the last
:data:`DEFAULT_WINDOW` of stream time: "all time" would mix months of a replay with the
last hour, and fetch every stored row. The other filters do not apply: these are the
model's figures, comparable with its validation only over all the traffic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from fraudwatch.dashboard.filters import Filters
from fraudwatch.dashboard.source import Reader
from fraudwatch.features.definitions import DEFAULT_LABEL_DELAY_MS
from fraudwatch.monitoring import LiveFigures, ValidationFigures, live_figures, validation_figures
from fraudwatch.sinks.labels import monitoring_window

#: The window when the sidebar's time range is "All time".
DEFAULT_WINDOW = timedelta(days=7)
#: Fewer labelled transactions than this: live precision and recall are not shown.
MIN_LABELLED = 20


@dataclass(frozen=True)
class LiveComparison:
    """The window's live figures and the model's validation figures."""

    start: datetime  # naive UTC, inclusive
    end: datetime  # naive UTC, exclusive
    from_filters: bool  # the sidebar's time range (else the default window)
    label_delay_ms: int
    figures: LiveFigures
    validation: ValidationFigures

    @property
    def enough_labels(self) -> bool:
        """Whether enough labels have arrived to show live precision and recall."""
        return self.figures.labelled >= MIN_LABELLED


def live_window(filters: Filters, clock: datetime) -> tuple[datetime, datetime, bool]:
    """``(start, end, from_filters)``: the time range, else the last week up to ``clock``."""
    newest = clock + timedelta(microseconds=1)  # the newest event itself is included
    end = min(filters.end, newest) if filters.end is not None else newest
    if filters.start is not None:
        return filters.start, end, True
    return end - DEFAULT_WINDOW, end, filters.end is not None


def label_delay_ms(metadata: dict[str, Any]) -> int:
    """The model's label delay (how long a fraud may take to be charged back)."""
    value = metadata.get("label_delay_ms")
    return int(value) if isinstance(value, int | float) else DEFAULT_LABEL_DELAY_MS


def live_vs_validation(
    reader: Reader, filters: Filters, clock: datetime, metadata: dict[str, Any]
) -> LiveComparison:
    """Live figures of the window ending at the stream ``clock``, and validation's."""
    start, end, from_filters = live_window(filters, clock)
    delay = label_delay_ms(metadata)
    validation = validation_figures(metadata)
    frame = reader.run(lambda conn: monitoring_window(conn, start, end), "live figures")
    figures = live_figures(
        frame["event_ms"].to_numpy(),
        frame["decision"].to_numpy(),
        frame["label"].to_numpy(),
        clock_ms=int(pd.Timestamp(clock).value // 1_000_000),
        label_delay_ms=delay,
        validation_flag_rate=validation.flag_rate,
    )
    return LiveComparison(start, end, from_filters, delay, figures, validation)


def share(value: float) -> float | None:
    """A figure for :func:`fraudwatch.dashboard.formats.percent` (None when undefined)."""
    return None if math.isnan(value) else value
