"""Legitimate spending: who buys what, when, for how much, and where.

Per block, each card's daily count is Poisson around its own activity level times the
weekday and seasonal rhythm; category follows the card's personal mix; the amount comes
from a per-category mixture fitted to the Kaggle legitimate rows (many categories have a
cluster of small payments besides the main lognormal body, so small amounts are normal
and cannot flag card testing on their own). Sparkov places the merchant uniformly within
one degree of the customer; occasional trips move the customer (and so the merchants)
to another city for a few days, so distance from home alone is not proof of fraud.
"""

from __future__ import annotations

import numpy as np

from fraudwatch.schema import CATEGORIES
from fraudwatch.sources.simulator.cities import CITY_DISTANCE_KM, CITY_LAT, CITY_LONG
from fraudwatch.sources.simulator.config import LEGITIMATE
from fraudwatch.sources.simulator.population import Customers, Population
from fraudwatch.sources.simulator.rhythms import HOUR_CUMULATIVE, day_factors
from fraudwatch.sources.simulator.rows import (
    SECONDS_PER_DAY,
    SECONDS_PER_HOUR,
    Block,
    FloatArray,
    IntArray,
    Rows,
)
from fraudwatch.sources.simulator.state import SimulationState

#: Per category: share of small payments, their median and spread (lognormal), then the
#: main body: a gamma (shape, scale) where Kaggle amounts are bounded (grocery, gas, home...:
#: nothing above a few hundred dollars) or, when ``heavy``, a lognormal (median, spread)
#: for the long-tailed online, misc and travel categories. Fitted by eye to Kaggle's rows.
_AMOUNT_PROFILES: dict[str, tuple[float, float, float, bool, float, float]] = {
    "entertainment": (0.15, 3.0, 0.5, False, 2.0, 36.0),
    "food_dining": (0.18, 3.5, 0.5, False, 2.0, 28.0),
    "gas_transport": (0.00, 1.0, 0.1, False, 17.0, 3.65),
    "grocery_net": (0.00, 1.0, 0.1, False, 6.2, 9.0),
    "grocery_pos": (0.00, 1.0, 0.1, False, 6.0, 18.0),
    "health_fitness": (0.18, 3.5, 0.5, False, 1.8, 31.0),
    "home": (0.12, 4.0, 0.5, False, 2.2, 27.0),
    "kids_pets": (0.12, 4.0, 0.5, False, 2.2, 26.0),
    "misc_net": (0.55, 4.5, 0.6, True, 90.0, 1.00),
    "misc_pos": (0.45, 4.0, 0.6, True, 70.0, 1.00),
    "personal_care": (0.20, 3.5, 0.5, False, 1.8, 27.0),
    "shopping_net": (0.60, 4.0, 0.55, True, 80.0, 1.10),
    "shopping_pos": (0.62, 4.0, 0.55, True, 80.0, 1.10),
    "travel": (0.85, 5.0, 0.35, True, 350.0, 0.90),
}
_PROFILE = np.array([_AMOUNT_PROFILES[name] for name in CATEGORIES], dtype=np.float64)
MIN_AMOUNT = 1.0
#: Legitimate trips per customer per year, their length in days, and the time in transit.
TRIPS_PER_YEAR = 1.5
TRIP_DAYS = (2.0, 7.0)
TRANSIT_SECONDS = 3 * SECONDS_PER_HOUR
MIN_TRIP_KM = 300.0


def legit_amounts(category: IntArray, scale: FloatArray, rng: np.random.Generator) -> FloatArray:
    """Amounts in dollars and cents; ``scale`` is each row's card-specific spending level."""
    profile = _PROFILE[category]
    small = rng.random(len(category)) < profile[:, 0]
    noise = rng.standard_normal(len(category))
    small_amount = profile[:, 1] * np.exp(profile[:, 2] * noise)
    heavy = profile[:, 3] > 0
    heavy_amount = profile[:, 4] * np.exp(profile[:, 5] * noise)
    bounded_amount = rng.gamma(np.where(heavy, 1.0, profile[:, 4])) * profile[:, 5]
    main_amount = scale * np.where(heavy, heavy_amount, bounded_amount)
    amount = np.where(small, small_amount, main_amount)
    return np.asarray(np.round(np.maximum(amount, MIN_AMOUNT), 2), dtype=np.float64)


def near(
    lat: FloatArray, long: FloatArray, radius: float, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """A point uniform within ``radius`` degrees of each given one (Sparkov's merchant rule)."""
    merch_lat = np.clip(lat + rng.uniform(-radius, radius, len(lat)), -90.0, 90.0)
    merch_long = long + rng.uniform(-radius, radius, len(long))
    return np.asarray(np.round(merch_lat, 6), np.float64), np.round(merch_long, 6)


def home_locations(
    customers: Customers, customer: IntArray, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Merchant coordinates for card-holders shopping around home."""
    return near(customers.lat[customer], customers.long[customer], 1.0, rng)


def legit_rows(population: Population, block: Block, rng: np.random.Generator) -> Rows:
    """Every card's legitimate transactions of a block (before trips and blackouts)."""
    customers = population.customers
    n_customers, n_days = len(customers), block.n_days
    expected = customers.daily_rate[:, None] * day_factors(block.days())[None, :]
    counts = rng.poisson(expected).ravel()
    cell = np.repeat(np.arange(n_customers * n_days, dtype=np.int64), counts)
    customer, day = cell // n_days, cell % n_days
    n_rows = len(cell)
    hour = np.searchsorted(HOUR_CUMULATIVE, rng.random(n_rows), side="right")
    second = hour * SECONDS_PER_HOUR + rng.integers(0, SECONDS_PER_HOUR, n_rows)
    time = block.start + day * SECONDS_PER_DAY + second
    pick = rng.random(n_rows)[:, None]
    category = (customers.category_cumulative[customer] <= pick).sum(axis=1).astype(np.int64)
    category = np.minimum(category, len(CATEGORIES) - 1)
    merchant = population.merchants.pick(category, rng)
    amount = legit_amounts(category, customers.amount_scale[customer], rng)
    merch_lat, merch_long = home_locations(customers, customer, rng)
    scenario = np.full(n_rows, LEGITIMATE, dtype=np.int64)
    return Rows(customer, time, category, merchant, amount, merch_lat, merch_long, scenario)


def _plan_trips(
    customers: Customers, block: Block, state: SimulationState, rng: np.random.Generator
) -> None:
    """Send some customers who are at home on a trip starting in this block."""
    n_customers = len(customers)
    chance = 1.0 - np.exp(-TRIPS_PER_YEAR * block.n_days / 365.25)
    at_home = state.trip_until + TRANSIT_SECONDS + SECONDS_PER_DAY < block.start
    leaving = np.flatnonzero((rng.random(n_customers) < chance) & at_home)
    starts = block.start + rng.integers(0, block.seconds, len(leaving))
    lengths = (rng.uniform(*TRIP_DAYS, len(leaving)) * SECONDS_PER_DAY).astype(np.int64)
    state.trip_from[leaving] = starts
    state.trip_until[leaving] = starts + lengths
    state.trip_city[leaving] = random_city_beyond(customers.home_city[leaving], MIN_TRIP_KM, rng)


def random_city_beyond(home_city: IntArray, min_km: float, rng: np.random.Generator) -> IntArray:
    """For each home city, a random built-in city at least ``min_km`` away."""
    far_enough = CITY_DISTANCE_KM[home_city] >= min_km
    scores = rng.random(far_enough.shape) * far_enough
    return np.asarray(scores.argmax(axis=1), dtype=np.int64)


def apply_trips(
    rows: Rows, population: Population, block: Block, state: SimulationState,
    rng: np.random.Generator,
) -> Rows:  # fmt: skip
    """Move trip-time spending to the destination and drop what falls in transit."""
    _plan_trips(population.customers, block, state, rng)
    leave, back = state.trip_from[rows.customer], state.trip_until[rows.customer]
    in_transit = ((rows.time >= leave - TRANSIT_SECONDS) & (rows.time < leave)) | (
        (rows.time >= back) & (rows.time < back + TRANSIT_SECONDS)
    )
    away = (rows.time >= leave) & (rows.time < back)
    city = state.trip_city[rows.customer[away]]
    away_lat, away_long = near(CITY_LAT[city], CITY_LONG[city], 1.0, rng)
    merch_lat, merch_long = rows.merch_lat.copy(), rows.merch_long.copy()
    merch_lat[away], merch_long[away] = away_lat, away_long
    moved = Rows(
        rows.customer, rows.time, rows.category, rows.merchant, rows.amount,
        merch_lat, merch_long, rows.scenario,
    )  # fmt: skip
    return moved.select(~in_transit)
