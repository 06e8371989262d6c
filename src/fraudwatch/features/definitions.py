"""Every model feature, declared once: name, meaning, window, and how to say it in words.

Both engines (:mod:`fraudwatch.features.batch` for training, :mod:`fraudwatch.features.online`
for serving) compute exactly these columns in this order, through the shared kernel in
:mod:`fraudwatch.features.kernel`, so training and serving cannot drift apart. Per-card and
per-merchant features look strictly at the past: a transaction never sees itself or a later
one, and merchant risk only sees labels older than the label delay.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from fraudwatch.schema import CATEGORIES

MS_PER_MINUTE = 60_000
MS_PER_HOUR = 3_600_000
MS_PER_DAY = 86_400_000
#: Look-back windows of the per-card counts and sums, in milliseconds.
WINDOWS: dict[str, int] = {
    "10m": 10 * MS_PER_MINUTE,
    "1h": MS_PER_HOUR,
    "24h": MS_PER_DAY,
    "7d": 7 * MS_PER_DAY,
}
#: The longest window: older per-card events are not needed by any feature and expire.
LONGEST_WINDOW_MS = max(WINDOWS.values())
#: A card silent for this long starts afresh (its running totals are dropped): bounds memory.
CARD_TTL_MS = 180 * MS_PER_DAY
#: Hours counted as night (fraud bursts cluster 22:00–04:00).
NIGHT_HOURS = frozenset({22, 23, 0, 1, 2, 3})
#: Labels younger than this are not yet known in production (analyst/chargeback delay).
DEFAULT_LABEL_DELAY_MS = 7 * MS_PER_DAY
#: Merchant risk is smoothed toward the global fraud rate with this many pseudo-transactions.
MERCHANT_PRIOR_WEIGHT = 50.0
#: Standard-deviation floor (dollars) of card amount z-scores: a card that always pays the
#: same amount must not turn a one-cent change into an infinite z-score.
AMOUNT_STD_FLOOR = 1.0
#: Mean floor (dollars) of amount ratios.
AMOUNT_MEAN_FLOOR = 1.0
#: Slowest implied travel time considered (hours): two swipes a second apart are not
#: infinitely fast travel.
MIN_TRAVEL_HOURS = 1.0 / 60.0

Describe = Callable[[float, Mapping[str, float]], str]


@dataclass(frozen=True)
class Feature:
    """One model input: its column name, meaning, look-back window and reason wording."""

    name: str
    description: str
    kind: Literal["static", "card", "merchant"]
    window: str | None = None
    categorical: bool = False
    describe: Describe | None = None

    def reason(self, value: float, row: Mapping[str, float]) -> str:
        """The feature's value in words, for an analyst reading why a transaction was flagged."""
        if self.describe is not None and value == value:  # NaN has no wording
            return self.describe(value, row)
        return f"{self.description}: {value:.4g}"


def _usual_per(window_ms: int) -> Callable[[Mapping[str, float]], float]:
    def usual(row: Mapping[str, float]) -> float:
        return row.get("card_daily_rate", float("nan")) * window_ms / MS_PER_DAY

    return usual


def _count_reason(label: str, window: str) -> Describe:
    usual = _usual_per(WINDOWS[window])
    return lambda v, row: (
        f"{v:.0f} transactions on this card in the last {label} (usual: {usual(row):.1f})"
    )


def _sum_reason(label: str) -> Describe:
    return lambda v, row: f"${v:,.2f} spent on this card in the last {label}"


def _category_name(value: float) -> str:
    index = int(value)
    return CATEGORIES[index] if 0 <= index < len(CATEGORIES) else "unknown"


_WINDOW_LABELS = {"10m": "10 minutes", "1h": "hour", "24h": "24 hours", "7d": "7 days"}

FEATURES: tuple[Feature, ...] = (
    # -- the transaction itself ---------------------------------------------------------
    Feature("amt", "amount in dollars", "static",
            describe=lambda v, row: f"amount ${v:,.2f}"),
    Feature("log_amt", "log(1 + amount)", "static",
            describe=lambda v, row: f"amount ${row.get('amt', 0.0):,.2f}"),
    Feature("hour", "hour of the day (event time)", "static",
            describe=lambda v, row: f"at {v:02.0f}:00"),
    Feature("is_night", "between 22:00 and 04:00", "static",
            describe=lambda v, row: "at night (22:00–04:00)" if v else "in daytime"),
    Feature("is_weekend", "on a Saturday or Sunday", "static"),
    Feature("age_years", "card holder's age at the event", "static",
            describe=lambda v, row: f"card holder aged {v:.0f}"),
    Feature("gender_male", "card holder is male", "static"),
    Feature("log_city_pop", "log(1 + population of the holder's city)", "static"),
    Feature("category", "merchant category", "static", categorical=True,
            describe=lambda v, row: f"category {_category_name(v)}"),
    Feature("home_merchant_km", "distance from the holder's home to the merchant (km)", "static",
            describe=lambda v, row: f"merchant {v:,.0f} km from the card holder's home"),
    Feature("amt_category_z", "amount vs the category's typical amount (z of log amount)",
            "static",
            describe=lambda v, row: (
                f"amount unusually {'high' if v > 0 else 'low'} for the category "
                f"({abs(v):.1f} standard deviations)")),
    # -- the card's past ------------------------------------------------------------------
    *(
        Feature(f"card_count_{w}", f"transactions on the card in the previous {w}", "card", w,
                describe=_count_reason(_WINDOW_LABELS[w], w))
        for w in WINDOWS
    ),
    *(
        Feature(f"card_sum_{w}", f"amount spent on the card in the previous {w}", "card", w,
                describe=_sum_reason(_WINDOW_LABELS[w]))
        for w in WINDOWS
    ),
    Feature("card_daily_rate", "card's usual transactions per day (since first seen)", "card",
            describe=lambda v, row: f"card usually makes {v:.1f} transactions a day"),
    Feature("secs_since_prev", "seconds since the card's previous transaction", "card",
            describe=lambda v, row: f"{v / 60:,.1f} minutes after the card's previous transaction"),
    Feature("card_mean_amt", "card's mean past amount", "card",
            describe=lambda v, row: f"card's usual amount ${v:,.2f}"),
    Feature("card_std_amt", "card's standard deviation of past amounts", "card"),
    Feature("amt_card_z", "amount vs the card's past amounts (z-score)", "card",
            describe=lambda v, row: (
                f"amount ${row.get('amt', 0.0):,.2f} is {v:+.1f} standard deviations from this "
                f"card's usual ${row.get('card_mean_amt', 0.0):,.2f}")),
    Feature("amt_card_ratio", "amount / card's mean past amount", "card",
            describe=lambda v, row: f"amount {v:,.1f}× this card's usual"),
    Feature("amt_card_category_ratio", "amount / card's mean past amount in this category",
            "card",
            describe=lambda v, row: f"amount {v:,.1f}× this card's usual in this category"),
    Feature("card_category_share", "share of the card's past transactions in this category",
            "card",
            describe=lambda v, row: f"{v:.0%} of this card's past transactions in this category"),
    Feature("distinct_merchants_24h", "distinct merchants on the card in the previous 24h",
            "card", "24h",
            describe=lambda v, row: f"{v:.0f} different merchants on this card in 24 hours"),
    Feature("distinct_categories_24h", "distinct categories on the card in the previous 24h",
            "card", "24h",
            describe=lambda v, row: f"{v:.0f} different categories on this card in 24 hours"),
    Feature("night_count_24h", "night transactions on the card in the previous 24h", "card",
            "24h",
            describe=lambda v, row: f"{v:.0f} night transactions on this card in 24 hours"),
    Feature("card_night_share", "share of the card's past transactions at night", "card",
            describe=lambda v, row: f"{v:.0%} of this card's past transactions were at night"),
    Feature("card_max_amt_24h", "card's largest amount in the previous 24h", "card", "24h",
            describe=lambda v, row: f"largest amount on this card in the last 24 hours ${v:,.2f}"),
    Feature("amt_vs_max_24h", "amount / card's largest amount in the previous 24h", "card", "24h",
            describe=lambda v, row: f"amount {v:,.1f}× the card's largest in the last 24 hours"),
    Feature("card_count_24h_vs_usual", "transactions in the previous 24h / usual per day", "card",
            "24h",
            describe=lambda v, row: f"{v:,.1f}× the card's usual number of transactions a day"),
    Feature("card_sum_24h_vs_usual", "amount in the previous 24h / usual spend per day", "card",
            "24h",
            describe=lambda v, row: f"{v:,.1f}× the card's usual spend a day"),
    Feature("prev_amt", "amount of the card's previous transaction", "card",
            describe=lambda v, row: f"previous transaction on this card ${v:,.2f}"),
    Feature("silence_vs_usual", "time since the previous transaction / usual gap", "card",
            describe=lambda v, row: f"card was quiet {v:,.1f}× its usual gap before this"),
    Feature("prev_merchant_km", "distance from the previous transaction's merchant (km)",
            "card",
            describe=lambda v, row: f"{v:,.0f} km from the card's previous merchant"),
    Feature("travel_speed_kmh", "implied speed since the previous transaction (km/h)", "card",
            describe=lambda v, row: f"implied travel at {v:,.0f} km/h from the previous merchant"),
    # -- the merchant's past ----------------------------------------------------------------
    Feature("merchant_risk", "merchant's smoothed fraud rate from labels older than the delay",
            "merchant",
            describe=lambda v, row: f"merchant's past fraud rate {v:.2%}"),
)  # fmt: skip

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
STATIC_FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES if f.kind == "static")
CATEGORICAL_FEATURES: tuple[str, ...] = tuple(f.name for f in FEATURES if f.categorical)
FEATURES_BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}
