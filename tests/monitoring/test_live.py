"""Live figures from delayed labels, against numbers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fraudwatch.monitoring import (
    FlagRateVerdict,
    flag_rate_verdict,
    known_labels,
    live_figures,
    validation_figures,
)

NAN = math.nan
DAY = 86_400_000


def test_old_unlabelled_transactions_are_legitimate_young_ones_unknown() -> None:
    times = [0, 2 * DAY, 3 * DAY, 9 * DAY, 10 * DAY]
    labels = [NAN, 1.0, NAN, NAN, 0.0]
    # clock 10 days, delay 7 days: times <= 3 days are matured
    known = known_labels(times, labels, clock_ms=10 * DAY, label_delay_ms=7 * DAY)
    np.testing.assert_array_equal(known, [0.0, 1.0, 0.0, NAN, 0.0])


def test_precision_and_recall_leave_unknown_transactions_out() -> None:
    # ten transactions; clock at 10 days, delay 7 days -> the first six (days 0..3) matured
    times = [0, 0, 1, 1, 2, 3, 8, 9, 9, 10]
    flagged = [1, 1, 0, 0, 1, 0, 1, 1, 0, 0]
    labels = [1, NAN, 1, NAN, NAN, NAN, 1, NAN, 0, NAN]
    figures = live_figures(
        np.array(times) * DAY, flagged, labels, clock_ms=10 * DAY, label_delay_ms=7 * DAY,
        validation_flag_rate=0.25, min_transactions=10,
    )  # fmt: skip
    # known: rows 0 (fraud, flagged), 1 (legit, flagged), 2 (fraud), 3, 4 (legit, flagged),
    # 5 (legit), 6 (fraud, flagged), 8 (legit); unknown: 7 (flagged), 9
    assert figures.labelled == 8
    assert figures.frauds == 3
    assert figures.true_positives == 2
    assert figures.precision == pytest.approx(2 / 4)  # flagged and known: 0, 1, 4, 6
    assert figures.recall == pytest.approx(2 / 3)
    assert figures.flag_rate == pytest.approx(5 / 10)
    assert figures.flag_rate_ratio == pytest.approx(2.0)
    assert figures.verdict is FlagRateVerdict.WITHIN  # 2x is still inside the band


@pytest.mark.parametrize(
    ("live", "validation", "verdict"),
    [
        (0.010, 0.010, FlagRateVerdict.WITHIN),
        (0.005, 0.010, FlagRateVerdict.WITHIN),
        (0.0049, 0.010, FlagRateVerdict.TOO_LOW),
        (0.0201, 0.010, FlagRateVerdict.TOO_HIGH),
        (0.0, 0.010, FlagRateVerdict.TOO_LOW),
        (0.010, NAN, FlagRateVerdict.UNKNOWN),
        (0.010, 0.0, FlagRateVerdict.UNKNOWN),
    ],
)
def test_flag_rate_band(live: float, validation: float, verdict: FlagRateVerdict) -> None:
    ratio, found = flag_rate_verdict(live, validation, transactions=1_000)
    assert found is verdict
    assert found.warns == (verdict in (FlagRateVerdict.TOO_LOW, FlagRateVerdict.TOO_HIGH))
    if verdict is not FlagRateVerdict.UNKNOWN:
        assert ratio == pytest.approx(live / validation)


def test_too_few_transactions_give_no_verdict() -> None:
    assert flag_rate_verdict(0.5, 0.01, transactions=499)[1] is FlagRateVerdict.UNKNOWN
    assert flag_rate_verdict(0.5, 0.01, transactions=500)[1] is FlagRateVerdict.TOO_HIGH


def test_no_labels_yet_gives_nan_precision_and_recall() -> None:
    figures = live_figures(
        [DAY, DAY], [1, 0], [NAN, NAN], clock_ms=DAY, label_delay_ms=7 * DAY,
        validation_flag_rate=0.5,
    )  # fmt: skip
    assert figures.labelled == 0
    assert math.isnan(figures.precision) and math.isnan(figures.recall)
    assert figures.verdict is FlagRateVerdict.UNKNOWN


def test_validation_figures_from_bundle_metadata() -> None:
    metadata = {
        "rows": {"validation": 20_000},
        "validation_metrics": {"model": {"flagged": 150.0, "precision": 0.9, "recall": 0.8}},
    }
    figures = validation_figures(metadata)
    assert figures.flag_rate == pytest.approx(0.0075)
    assert (figures.precision, figures.recall) == (0.9, 0.8)
    assert math.isnan(validation_figures({}).flag_rate)
