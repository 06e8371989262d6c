"""The four fraud scenarios; each labels its rows, pays back its debt and starts cooldowns.

Every scenario leaves a trace in the card's own history rather than in one static field:
night bursts are many transactions in a few hours on a card that otherwise went quiet that
day, card testing is a run of tiny online payments followed by a big one, an account
takeover is a sudden jump far from where the card was used minutes before, and the victims
of a compromised merchant all shopped there shortly before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fraudwatch.schema import CATEGORIES
from fraudwatch.sources.simulator.cities import CITY_LAT, CITY_LONG
from fraudwatch.sources.simulator.config import (
    ACCOUNT_TAKEOVER,
    CARD_TESTING,
    COMPROMISED_MERCHANT,
    NIGHT_BURST,
)
from fraudwatch.sources.simulator.legit import home_locations, near, random_city_beyond
from fraudwatch.sources.simulator.population import Population
from fraudwatch.sources.simulator.rows import (
    SECONDS_PER_DAY,
    SECONDS_PER_HOUR,
    Block,
    FloatArray,
    IntArray,
    Rows,
    card_day_keys,
    group_offsets,
    grouped_cumsum,
)
from fraudwatch.sources.simulator.state import (
    SimulationState,
    episodes_for_debt,
    first_eligible,
)

_CATEGORY = {name: number for number, name in enumerate(CATEGORIES)}
ONLINE_CATEGORIES = np.array(
    [_CATEGORY[name] for name in ("grocery_net", "misc_net", "shopping_net")], dtype=np.int64
)
CARD_PRESENT_CATEGORIES = np.array(
    [number for name, number in _CATEGORY.items() if not name.endswith("_net")
     and name != "travel"],
    dtype=np.int64,
)  # fmt: skip
#: Night bursts: (share of burst rows, lowest amount, highest amount) per category — Kaggle's
#: fraud mix, high in shopping_net / misc_net / grocery_pos, low in gas_transport and travel.
_BURST_PROFILE: dict[str, tuple[float, float, float]] = {
    "entertainment": (233, 450.0, 560.0),
    "food_dining": (151, 100.0, 130.0),
    "gas_transport": (618, 8.0, 20.0),
    "grocery_net": (134, 10.0, 15.0),
    "grocery_pos": (1743, 280.0, 350.0),
    "health_fitness": (133, 15.0, 25.0),
    "home": (198, 200.0, 300.0),
    "kids_pets": (239, 15.0, 25.0),
    "misc_net": (915, 700.0, 1000.0),
    "misc_pos": (250, 150.0, 300.0),
    "personal_care": (220, 15.0, 25.0),
    "shopping_net": (1713, 800.0, 1200.0),
    "shopping_pos": (843, 800.0, 1000.0),
    "travel": (116, 5.0, 12.0),
}
_BURST = np.array([_BURST_PROFILE[name] for name in CATEGORIES], dtype=np.float64)
BURST_CATEGORY_SHARE: FloatArray = _BURST[:, 0] / _BURST[:, 0].sum()
BURST_NIGHT_SHARE = 0.85
#: Account takeover: categories (with shares) used far from home.
TAKEOVER_CATEGORIES = np.array(
    [_CATEGORY[name] for name in ("shopping_pos", "misc_pos", "travel", "entertainment")],
    dtype=np.int64,
)
TAKEOVER_SHARE = np.array([0.35, 0.25, 0.2, 0.2])
TAKEOVER_MIN_KM = 1500.0
CARD_NOT_PRESENT = np.array([_CATEGORY["misc_net"], _CATEGORY["shopping_net"]], dtype=np.int64)
MIN_MERCHANT_VICTIMS = 3
#: Share of compromised-card cash-outs that start at night (22:00-05:00).
CASH_OUT_NIGHT_SHARE = 0.7


@dataclass(frozen=True)
class ScenarioContext:
    """What every scenario needs: who exists, which block, and the running state."""

    population: Population
    block: Block
    state: SimulationState

    def draw_candidates(self, count: int, rng: np.random.Generator) -> IntArray:
        """Random cards to try as victims (more than needed: some are not eligible)."""
        return rng.integers(0, len(self.population.customers), count, dtype=np.int64)


def _fraud_rows(
    context: ScenarioContext, scenario: int, customer: IntArray, time: IntArray,
    category: IntArray, amount: FloatArray, rng: np.random.Generator,
    location: tuple[FloatArray, FloatArray] | None = None, merchant: IntArray | None = None,
) -> Rows:  # fmt: skip
    """Assemble and record fraud rows (located near home and at random merchants by default)."""
    if merchant is None:
        merchant = context.population.merchants.pick(category, rng)
    if location is None:
        location = home_locations(context.population.customers, customer, rng)
    scenario_codes = np.full(len(customer), scenario, dtype=np.int64)
    rows = Rows(customer, time, category, merchant, np.round(amount, 2), *location,
                scenario_codes)  # fmt: skip
    context.state.record_fraud(scenario, rows)
    return rows


def night_burst(context: ScenarioContext, rng: np.random.Generator) -> tuple[Rows, IntArray]:
    """Kaggle's pattern: ~10 transactions in one night; the card's day is blacked out."""
    state, block = context.state, context.block
    debt = float(state.debt[NIGHT_BURST])
    sizes = 4 + rng.binomial(12, 0.5, max(int(debt // 4) + 1, 1)).astype(np.int64)
    wanted = episodes_for_debt(debt, sizes)
    customer = context.draw_candidates(4 * wanted + 16, rng)
    day_start = block.start + rng.integers(0, block.n_days, len(customer)) * SECONDS_PER_DAY
    chosen = first_eligible(customer, state.can_defraud(customer, day_start), wanted)
    sizes = sizes[: len(chosen)]
    episode, _ = group_offsets(sizes)
    n_rows = len(episode)
    evening = rng.random(n_rows) < 0.6
    night_offset = np.where(
        evening,
        22 * SECONDS_PER_HOUR + rng.integers(0, 2 * SECONDS_PER_HOUR, n_rows),
        24 * SECONDS_PER_HOUR + rng.integers(0, 4 * SECONDS_PER_HOUR, n_rows),
    )
    day_offset = 4 * SECONDS_PER_HOUR + rng.integers(0, 18 * SECONDS_PER_HOUR, n_rows)
    at_night = rng.random(n_rows) < BURST_NIGHT_SHARE
    time = day_start[chosen][episode] + np.where(at_night, night_offset, day_offset)
    category = rng.choice(len(CATEGORIES), n_rows, p=BURST_CATEGORY_SHARE).astype(np.int64)
    amount = rng.uniform(_BURST[category, 1], _BURST[category, 2])
    victims = customer[chosen][episode]
    rows = _fraud_rows(context, NIGHT_BURST, victims, time, category, amount, rng)
    return rows, np.unique(card_day_keys(rows.customer, rows.time))


def card_testing(context: ScenarioContext, rng: np.random.Generator) -> Rows:
    """3-6 tiny online payments within 10 minutes, then a large one within the hour."""
    state, block, merchants = context.state, context.block, context.population.merchants
    debt = float(state.debt[CARD_TESTING])
    online = np.flatnonzero(np.isin(merchants.category, ONLINE_CATEGORIES))
    max_tiny = min(6, len(online))
    tiny_counts = np.minimum(rng.integers(3, 7, max(int(debt // 4) + 1, 1)), max_tiny)
    sizes = (tiny_counts + 1).astype(np.int64)
    wanted = episodes_for_debt(debt, sizes)
    customer = context.draw_candidates(4 * wanted + 16, rng)
    start = block.start + rng.integers(0, block.seconds, len(customer))
    chosen = first_eligible(customer, state.can_defraud(customer, start), wanted)
    sizes = sizes[: len(chosen)]
    episode, position = group_offsets(sizes)
    n_rows = len(episode)
    offset = rng.integers(0, 600, n_rows)
    order = np.lexsort((offset, episode))
    offset = offset[order]
    is_large = position == sizes[episode] - 1
    large_gap = rng.integers(5 * 60, SECONDS_PER_HOUR, n_rows)
    offset[is_large] = offset[np.flatnonzero(is_large) - 1] + large_gap[is_large]
    # distinct online merchants per episode: an arithmetic walk with a short enough step
    first_pick = rng.integers(0, len(online), len(sizes))
    step = rng.integers(1, max(1, (len(online) - 1) // max_tiny) + 1, len(sizes))
    walk = online[(first_pick[episode] + position * step[episode]) % len(online)]
    large_category = rng.choice(CARD_NOT_PRESENT, n_rows)
    category = np.where(is_large, large_category, merchants.category[walk])
    amount = np.where(is_large, rng.uniform(500, 2000, n_rows), rng.uniform(0.5, 3.0, n_rows))
    merchant = np.where(is_large, merchants.pick(category, rng), walk)
    victims = customer[chosen][episode]
    return _fraud_rows(context, CARD_TESTING, victims, start[chosen][episode] + offset,
                       category, amount, rng, merchant=merchant)  # fmt: skip


def account_takeover(context: ScenarioContext, legit: Rows, rng: np.random.Generator) -> Rows:
    """30-120 min after a home-area purchase, 2-5 purchases near a city >= 1,500 km away."""
    state, customers = context.state, context.population.customers
    debt = float(state.debt[ACCOUNT_TAKEOVER])
    at_home = (np.abs(legit.merch_lat - customers.lat[legit.customer]) <= 1.0) & (
        np.abs(legit.merch_long - customers.long[legit.customer]) <= 1.0
    )
    anchors = np.flatnonzero(at_home)
    sizes = rng.integers(2, 6, max(int(debt // 2) + 1, 1)).astype(np.int64)
    wanted = episodes_for_debt(debt, sizes) if len(anchors) else 0
    anchor = rng.choice(anchors, 4 * wanted + 16) if wanted else np.zeros(0, np.int64)
    customer, anchor_time = legit.customer[anchor], legit.time[anchor]
    delay = rng.integers(30 * 60, 2 * SECONDS_PER_HOUR, len(anchor))
    chosen = first_eligible(customer, state.can_defraud(customer, anchor_time + delay), wanted)
    sizes = sizes[: len(chosen)]
    episode, position = group_offsets(sizes)
    n_rows = len(episode)
    gaps = np.where(position == 0, delay[chosen][episode],
                    rng.integers(10 * 60, 3 * SECONDS_PER_HOUR, n_rows))  # fmt: skip
    time = anchor_time[chosen][episode] + grouped_cumsum(gaps, sizes)
    victims = customer[chosen][episode]
    city = random_city_beyond(customers.home_city[customer[chosen]], TAKEOVER_MIN_KM, rng)
    location = near(CITY_LAT[city][episode], CITY_LONG[city][episode], 0.3, rng)
    category = rng.choice(TAKEOVER_CATEGORIES, n_rows, p=TAKEOVER_SHARE)
    amount = np.clip(rng.lognormal(np.log(350.0), 0.6, n_rows), 60.0, 3000.0)
    return _fraud_rows(context, ACCOUNT_TAKEOVER, victims, time, category, amount, rng,
                       location)  # fmt: skip


def _merchant_breach(
    context: ScenarioContext, legit: Rows, card_present: IntArray, rng: np.random.Generator
) -> Rows | None:
    """One compromise: a window at a merchant, then a quick online cash-out on its visitors."""
    block = context.block
    window = min(int(rng.uniform(2.0, 5.0) * SECONDS_PER_DAY), block.seconds)
    window_start = block.start + int(rng.integers(0, block.seconds - window + 1))
    window_end = window_start + window
    times = legit.time[card_present]
    seen = card_present[(times >= window_start) & (times < window_end)]
    if len(seen) == 0:
        return None
    merchant = legit.merchant[rng.choice(seen)]
    visitors = np.unique(legit.customer[seen[legit.merchant[seen] == merchant]])
    # the stolen data is cashed out 1-10 days after the window, mostly at night (bots)
    days_later = rng.integers(2, 11, len(visitors))
    night = rng.random(len(visitors)) < CASH_OUT_NIGHT_SHARE
    clock = np.where(
        night,
        22 * SECONDS_PER_HOUR + rng.integers(0, 7 * SECONDS_PER_HOUR, len(visitors)),
        rng.integers(0, SECONDS_PER_DAY, len(visitors)),
    )
    day_of_window_end = window_end - window_end % SECONDS_PER_DAY
    first_fraud = day_of_window_end + days_later * SECONDS_PER_DAY + clock
    eligible = np.flatnonzero(context.state.can_defraud(visitors, first_fraud))
    share = rng.uniform(0.3, 0.6)
    count = min(max(round(share * len(visitors)), MIN_MERCHANT_VICTIMS), len(eligible))
    if count < MIN_MERCHANT_VICTIMS:
        return None
    victims = np.sort(rng.choice(eligible, count, replace=False))
    sizes = rng.integers(1, 4, count).astype(np.int64)
    episode, position = group_offsets(sizes)
    n_rows = len(episode)
    gaps = np.where(position == 0, 0, rng.integers(2 * 60, 90 * 60, n_rows))
    time = first_fraud[victims][episode] + grouped_cumsum(gaps, sizes)
    category = rng.choice(CARD_NOT_PRESENT, n_rows)
    amount = np.clip(rng.lognormal(np.log(450.0), 0.4, n_rows), 150.0, 2000.0)
    return _fraud_rows(context, COMPROMISED_MERCHANT, visitors[victims][episode], time,
                       category, amount, rng)  # fmt: skip


def compromised_merchant(
    context: ScenarioContext, legit: Rows, rng: np.random.Generator, max_attempts: int = 20
) -> Rows:
    """Breach merchants until the scenario's debt is paid (or no breach can be found)."""
    card_present = np.flatnonzero(np.isin(legit.category, CARD_PRESENT_CATEGORIES))
    breaches: list[Rows] = []
    for _ in range(max_attempts):
        if context.state.debt[COMPROMISED_MERCHANT] <= 0:
            break
        breach = _merchant_breach(context, legit, card_present, rng)
        if breach is not None:
            breaches.append(breach)
    return Rows.concat(breaches)
