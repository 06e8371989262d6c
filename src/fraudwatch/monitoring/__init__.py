"""Live monitoring of the model: figures from the labels that have arrived (pure functions).

Beside :mod:`fraudwatch.model` in the layers, below the sinks: it never reads a database.
The store selects the rows (:func:`fraudwatch.sinks.labels.monitoring_window`) and these
functions compute; the dashboard, retraining and drift checks all use the same figures.
"""

from fraudwatch.monitoring.live import (
    FLAG_RATE_BAND,
    FlagRateVerdict,
    LiveFigures,
    ValidationFigures,
    flag_rate_verdict,
    known_labels,
    live_figures,
    validation_figures,
)

__all__ = [
    "FLAG_RATE_BAND",
    "FlagRateVerdict",
    "LiveFigures",
    "ValidationFigures",
    "flag_rate_verdict",
    "known_labels",
    "live_figures",
    "validation_figures",
]
