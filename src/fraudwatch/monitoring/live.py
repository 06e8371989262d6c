"""Live model figures from the labels that have arrived, beside the validation ones.

Pure functions over arrays: the store (or the dashboard) selects a window of decisions with
each transaction's effective label, and :func:`live_figures` turns it into the flag rate,
live precision and recall, and a verdict on the flag rate against validation's.

The truth arrives late and mostly for frauds, so a transaction's label is:

* its effective label when one has arrived (a chargeback, else an analyst verdict);
* legitimate when it is older than the label delay with no label: an issuer that has not
  charged it back by then is taken to never do so;
* unknown otherwise (younger than the delay, no label): left out of precision and recall.

"Older" is measured against the stream clock (the newest event time), not the wall clock,
so a replay gives the same figures. The flag rate needs no label and counts every row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
import numpy.typing as npt

#: The live flag rate is healthy within these multiples of the validation flag rate.
FLAG_RATE_BAND = (0.5, 2.0)
#: Fewer transactions than this in a window give no flag-rate verdict (too noisy to warn).
MIN_TRANSACTIONS = 500


class FlagRateVerdict(Enum):
    """Where the live flag rate stands against validation's."""

    WITHIN = "within"
    TOO_LOW = "too low"
    TOO_HIGH = "too high"
    UNKNOWN = "unknown"  # too few transactions, or no validation figure

    @property
    def warns(self) -> bool:
        """Whether the dashboard should show a warning."""
        return self in (FlagRateVerdict.TOO_LOW, FlagRateVerdict.TOO_HIGH)


@dataclass(frozen=True)
class ValidationFigures:
    """What the model scored on its validation set (from the bundle's metadata)."""

    flag_rate: float
    precision: float
    recall: float


@dataclass(frozen=True)
class LiveFigures:
    """The window's figures (NaN where undefined) and the flag-rate verdict."""

    transactions: int
    flagged: int
    flag_rate: float
    #: transactions whose label is known (arrived, or implied legitimate by the delay)
    labelled: int
    frauds: int
    true_positives: int
    precision: float
    recall: float
    #: live flag rate / validation flag rate
    flag_rate_ratio: float
    verdict: FlagRateVerdict


def validation_figures(metadata: dict[str, Any]) -> ValidationFigures:
    """The validation flag rate, precision and recall of a model bundle's metadata.

    The flag rate is the model's flagged validation rows over the validation rows (NaN
    when the metadata lacks either).
    """
    model = (metadata.get("validation_metrics") or {}).get("model") or {}
    rows = (metadata.get("rows") or {}).get("validation")
    flagged = model.get("flagged")
    flag_rate = float(flagged) / float(rows) if flagged is not None and rows else math.nan
    return ValidationFigures(
        flag_rate=flag_rate,
        precision=float(model.get("precision", math.nan)),
        recall=float(model.get("recall", math.nan)),
    )


def known_labels(
    event_ms: npt.ArrayLike, labels: npt.ArrayLike, clock_ms: int, label_delay_ms: int
) -> npt.NDArray[np.float64]:
    """Each transaction's label as far as it is known: 1, 0, or NaN (unknown).

    ``labels``: the effective label, NaN where none has arrived; a transaction at least
    ``label_delay_ms`` older than ``clock_ms`` with none is legitimate (0).
    """
    times = np.asarray(event_ms, dtype=np.int64)
    known = np.asarray(labels, dtype=np.float64).copy()
    matured = times <= clock_ms - label_delay_ms
    known[np.isnan(known) & matured] = 0.0
    return known


def flag_rate_verdict(
    live_rate: float,
    validation_rate: float,
    transactions: int,
    band: tuple[float, float] = FLAG_RATE_BAND,
    min_transactions: int = MIN_TRANSACTIONS,
) -> tuple[float, FlagRateVerdict]:
    """The ratio live / validation flag rate and whether it lies within ``band``."""
    if transactions < min_transactions or not validation_rate > 0 or math.isnan(live_rate):
        return math.nan, FlagRateVerdict.UNKNOWN
    ratio = live_rate / validation_rate
    if ratio < band[0]:
        return ratio, FlagRateVerdict.TOO_LOW
    if ratio > band[1]:
        return ratio, FlagRateVerdict.TOO_HIGH
    return ratio, FlagRateVerdict.WITHIN


def live_figures(
    event_ms: npt.ArrayLike,
    flagged: npt.ArrayLike,
    labels: npt.ArrayLike,
    *,
    clock_ms: int,
    label_delay_ms: int,
    validation_flag_rate: float,
    band: tuple[float, float] = FLAG_RATE_BAND,
    min_transactions: int = MIN_TRANSACTIONS,
) -> LiveFigures:
    """Flag rate, live precision and recall of a window of decisions, and the verdict.

    ``event_ms`` (epoch ms), ``flagged`` (the decision, 0/1) and ``labels`` (effective
    label, NaN when none arrived) are one entry per transaction of the window;
    ``clock_ms`` is the stream clock (the newest event time stored).
    """
    flags = np.asarray(flagged, dtype=bool)
    known = known_labels(event_ms, labels, clock_ms, label_delay_ms)
    if not len(flags) == len(known):
        raise ValueError(f"{len(flags)} decisions but {len(known)} labels")
    n = len(flags)
    has_label = ~np.isnan(known)
    fraud = has_label & (known == 1.0)
    true_positives = int((fraud & flags).sum())
    flagged_known = int((flags & has_label).sum())
    frauds = int(fraud.sum())
    flag_rate = float(flags.sum()) / n if n else math.nan
    ratio, verdict = flag_rate_verdict(
        flag_rate, validation_flag_rate, n, band=band, min_transactions=min_transactions
    )
    return LiveFigures(
        transactions=n,
        flagged=int(flags.sum()),
        flag_rate=flag_rate,
        labelled=int(has_label.sum()),
        frauds=frauds,
        true_positives=true_positives,
        precision=true_positives / flagged_known if flagged_known else math.nan,
        recall=true_positives / frauds if frauds else math.nan,
        flag_rate_ratio=ratio,
        verdict=verdict,
    )
