"""How numbers read on the dashboard: one place, so every page and test agrees."""

from __future__ import annotations

from datetime import datetime, timedelta


def count(value: int | None) -> str:
    """An integer with thousands separators ('—' when unknown)."""
    return "—" if value is None else f"{value:,}"


def money(value: float | None) -> str:
    """Dollars with cents and thousands separators."""
    return "—" if value is None else f"${value:,.2f}"


def percent(value: float | None, digits: int = 2) -> str:
    """A share as a percentage ('—' when undefined, e.g. no rows)."""
    return "—" if value is None else f"{value * 100:.{digits}f} %"


def milliseconds(value: float | None) -> str:
    """A latency in milliseconds."""
    return "—" if value is None else f"{value:,.1f} ms"


def moment(value: datetime | None) -> str:
    """A timestamp to the second (UTC)."""
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def duration(value: timedelta) -> str:
    """A rough, readable length of time: '42 s', '7 min', '3 h 5 min', '2 days'."""
    seconds = max(0, int(value.total_seconds()))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{seconds // 60} min"
    if seconds < 48 * 3600:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{seconds // 86400} days"


def duration_ms(value: int) -> str:
    """A duration in milliseconds in words ('7 days', '1 h')."""
    return duration(timedelta(milliseconds=value))


#: Validation metric names (``fraudwatch.model.train``) in words.
METRIC_NAMES = {
    "average_precision": "Average precision (AP)",
    "roc_auc": "ROC AUC",
    "precision": "Precision at the threshold",
    "recall": "Recall at the threshold",
    "f1": "F1 at the threshold",
    "flagged": "Flagged validation transactions",
    "best_iteration": "Boosting rounds",
}
#: Metrics that are counts, shown as integers.
COUNT_METRICS = frozenset({"flagged", "best_iteration"})


def metric_name(name: str) -> str:
    """A metric's name in words ('some_metric' → 'Some metric' when unknown)."""
    return METRIC_NAMES.get(name, name.replace("_", " ").capitalize())


def metric_value(name: str, value: float | None) -> str:
    """A validation metric: counts as integers with separators, scores to 4 decimals."""
    if value is None or value != value:  # NaN: undefined (e.g. nothing flagged)
        return "—"
    if name in COUNT_METRICS:
        return count(round(value))
    return f"{value:.4f}"


def clock_speed(speed: float) -> str:
    """An accelerated stream clock in words: 'simulated, 600× real time (a day every 2.4 min)'."""
    seconds = 86_400 / speed
    if seconds < 90:
        day = f"{seconds:.0f} s"
    elif seconds < 90 * 60:
        day = f"{_one_decimal(seconds / 60)} min"
    else:
        day = f"{_one_decimal(seconds / 3600)} h"
    return f"simulated, {speed:,g}× real time (a day every {day})"


def _one_decimal(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")
