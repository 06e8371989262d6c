"""Labels that arrive while the stream runs, fed to merchant risk from a recorded stream time.

A label stored with ``effective_at`` (the stream's event time when it was applied, see
:mod:`fraudwatch.sinks.labels`) must change the features of transactions after that time
only, so replaying the stream with the same labels gives the same features whatever the
batch boundaries. :class:`~fraudwatch.features.merchants.MerchantLabels` counts a label
learnt at time ``t`` for queries later than ``t + delay``; learning it at
``t = max(event_time, effective_at - delay)`` makes it count for queries later than
``max(event_time + delay, effective_at)``: never before it was known, and never before the
model's own label delay (as in training).

The caller feeds labels before scoring any transaction later than their ``effective_at``
(e.g. before each batch, every label with ``effective_at`` before the batch's newest event
time); feeding one earlier is harmless, the cut-off is per query.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraudwatch.features.online import OnlineFeatures
from fraudwatch.features.static import event_ms

#: The columns :func:`learn_late_labels` reads.
LATE_LABEL_COLUMNS = ("merchant", "event_time", "is_fraud", "effective_at")


def learning_times_ms(
    event_time: pd.Series, effective_at: pd.Series, label_delay_ms: int
) -> np.ndarray:
    """When merchant risk should learn each label: ``max(event, effective_at - delay)`` (ms)."""
    return np.maximum(event_ms(event_time), event_ms(effective_at) - label_delay_ms)


def learn_late_labels(engine: OnlineFeatures, labels: pd.DataFrame) -> int:
    """Feed labels (:data:`LATE_LABEL_COLUMNS`) to the engine's merchant risk; returns how many.

    Each counts for transactions after its ``effective_at`` (and after its own event time
    plus the label delay), never before.
    """
    if labels.empty:
        return 0
    missing = [name for name in LATE_LABEL_COLUMNS if name not in labels]
    if missing:
        raise ValueError(f"labels frame lacks column(s) {', '.join(missing)}")
    merchants = engine.merchants
    times = learning_times_ms(
        labels["event_time"], labels["effective_at"], merchants.label_delay_ms
    )
    values = pd.to_numeric(labels["is_fraud"], errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    merchants.learn(merchants.codes(labels["merchant"]), times, values)
    return int((~np.isnan(values)).sum())
