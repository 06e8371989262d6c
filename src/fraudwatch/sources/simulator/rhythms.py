"""When people spend: hour-of-day, weekday and seasonal rhythms, and Kaggle's time quirks.

The weights mirror the Kaggle legitimate rows: about 3.2 % of them per hour before noon and
about 5.1 % per hour after, more on Mondays and Sundays, and a December peak. Night hours
keep real legitimate traffic, so the hour alone never gives a fraud away.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from fraudwatch.sources.simulator.rows import SECONDS_PER_DAY, FloatArray, IntArray

_HOUR_WEIGHTS = np.array([3.2] * 12 + [5.1] * 12, dtype=np.float64)
#: Cumulative hour-of-day distribution of legitimate spending (24 values, the last is 1).
HOUR_CUMULATIVE: FloatArray = np.cumsum(_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
HOUR_CUMULATIVE[-1] = 1.0
#: Relative activity Monday..Sunday (Kaggle: Monday and Sunday busiest), mean 1.
_WEEKDAY = np.array([1.30, 0.85, 0.78, 0.85, 0.95, 1.02, 1.25], dtype=np.float64)
WEEKDAY_FACTOR: FloatArray = _WEEKDAY / _WEEKDAY.mean()
#: Relative activity January..December: a quiet start of year, a December peak (~+50 %).
_MONTH = np.array(
    [0.80, 0.80, 0.95, 0.95, 1.00, 1.05, 1.05, 1.05, 0.95, 0.95, 1.00, 1.50], dtype=np.float64
)
MONTH_FACTOR: FloatArray = _MONTH / _MONTH.mean()
#: The Kaggle ``unix_time`` lags the event time by exactly this many calendar months.
UNIX_TIME_LAG_MONTHS = 7 * 12


def day_factors(days: npt.NDArray[np.datetime64]) -> FloatArray:
    """Expected-volume multiplier of each calendar day (weekday times month)."""
    day_numbers = days.astype("datetime64[D]").astype(np.int64)
    weekday = (day_numbers + 3) % 7  # 1970-01-01 was a Thursday (Monday = 0)
    months = days.astype("datetime64[M]").astype(np.int64) % 12
    return np.asarray(WEEKDAY_FACTOR[weekday] * MONTH_FACTOR[months], dtype=np.float64)


def kaggle_unix_time(event_seconds: IntArray) -> IntArray:
    """Epoch seconds of the event shifted back 7 calendar years, as in the Kaggle files."""
    day_numbers = event_seconds // SECONDS_PER_DAY
    second_of_day = event_seconds - day_numbers * SECONDS_PER_DAY
    dates = day_numbers.astype("datetime64[D]")
    months = dates.astype("datetime64[M]")
    day_of_month = (dates - months.astype("datetime64[D]")).astype(np.int64)
    earlier_month = months - np.timedelta64(UNIX_TIME_LAG_MONTHS, "M")
    first_day = earlier_month.astype("datetime64[D]")
    month_length = ((earlier_month + 1).astype("datetime64[D]") - first_day).astype(np.int64)
    earlier_day = first_day.astype(np.int64) + np.minimum(day_of_month, month_length - 1)
    return np.asarray(earlier_day * SECONDS_PER_DAY + second_of_day, dtype=np.int64)
