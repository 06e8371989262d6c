"""Customers and merchants, derived from the seed alone so every run of a seed shares them.

Each customer has a home (a built-in city plus a little jitter), a card number from a
real-looking issuer range, an activity level and a personal category mix; merchants belong
to one category each and some are busier than others, which is what makes a compromised
merchant touch many cards.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

from fraudwatch.schema import CATEGORIES
from fraudwatch.sources.simulator.cities import CITIES
from fraudwatch.sources.simulator.config import SimulatorConfig
from fraudwatch.sources.simulator.names import (
    COMPANY_SUFFIXES,
    COMPANY_SURNAMES,
    FEMALE_FIRST_NAMES,
    JOBS,
    LAST_NAMES,
    MALE_FIRST_NAMES,
    STREET_SUFFIXES,
)
from fraudwatch.sources.simulator.rows import FloatArray, IntArray

POPULATION_STREAM = 0
#: Mean legitimate transactions per customer per day (Kaggle: ~1.85 M rows, 999 cards, 2 y).
MEAN_DAILY_TRANSACTIONS = 2.5
#: Kaggle's share of legitimate rows per category, in ``CATEGORIES`` order.
CATEGORY_MIX: FloatArray = np.array(
    [0.072, 0.070, 0.102, 0.035, 0.095, 0.066, 0.095, 0.087, 0.049, 0.061, 0.070, 0.075,
     0.090, 0.031],
    dtype=np.float64,
)  # fmt: skip
CATEGORY_MIX /= CATEGORY_MIX.sum()
#: Birth dates are counted back from this fixed day, so they never depend on the run dates.
AGE_REFERENCE = dt.date(2020, 1, 1)
#: Simulated events must not predate the youngest customer's 18th birthday reference.
EARLIEST_START = dt.date(2002, 1, 1)
#: (issuer prefixes, number length, share of cards) — mostly 16 digits, like real issuers.
CARD_BRANDS: tuple[tuple[tuple[str, ...], int, float], ...] = (
    (("4",), 16, 0.34),  # Visa
    (("51", "52", "53", "54", "55", "2221", "2720"), 16, 0.20),  # Mastercard
    (("34", "37"), 15, 0.12),  # American Express
    (("6011", "65", "644"), 16, 0.08),  # Discover
    (tuple(str(p) for p in range(3528, 3590)), 16, 0.08),  # JCB 16
    (("300", "301", "302", "303", "304", "305", "36", "38"), 14, 0.06),  # Diners Club
    (("4",), 13, 0.04),  # Visa 13
    (("4",), 19, 0.05),  # Visa 19
    (("2131", "1800"), 15, 0.03),  # JCB 15
)


@dataclass(frozen=True)
class Customers:
    """Card holders: Kaggle identity columns plus the hidden habits that drive their spending."""

    cc_num: ExtensionArray
    first: ExtensionArray
    last: ExtensionArray
    gender: ExtensionArray
    street: ExtensionArray
    city: ExtensionArray
    state: ExtensionArray
    zip_code: IntArray
    lat: FloatArray
    long: FloatArray
    city_pop: IntArray
    job: ExtensionArray
    dob: np.ndarray
    home_city: IntArray
    daily_rate: FloatArray
    category_cumulative: FloatArray
    amount_scale: FloatArray

    def __len__(self) -> int:
        return len(self.lat)


@dataclass(frozen=True)
class Merchants:
    """Merchants grouped by category (``per_category`` consecutive ones per category)."""

    names: ExtensionArray
    category: IntArray
    per_category: int
    cumulative: FloatArray

    def pick(self, category: IntArray, rng: np.random.Generator) -> IntArray:
        """A merchant of each row's category, busier merchants more often."""
        uniform = rng.random(len(category))
        index = np.searchsorted(self.cumulative, category + uniform, side="right")
        last_of_category = (category + 1) * self.per_category - 1
        return np.asarray(np.minimum(index, last_of_category), dtype=np.int64)


@dataclass(frozen=True)
class Population:
    """Everyone who takes part in a simulation."""

    customers: Customers
    merchants: Merchants


def _text(values: list[str]) -> ExtensionArray:
    return pd.array(values, dtype="str")


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` pass the Luhn test, as issuers do."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return str((10 - total % 10) % 10)


def _card_numbers(count: int, rng: np.random.Generator) -> list[str]:
    """Distinct Luhn-valid card numbers with the issuer mix of ``CARD_BRANDS``."""
    shares = np.array([brand[2] for brand in CARD_BRANDS])
    numbers: list[str] = []
    seen: set[str] = set()
    while len(numbers) < count:
        prefixes, length, _ = CARD_BRANDS[rng.choice(len(CARD_BRANDS), p=shares / shares.sum())]
        prefix = prefixes[rng.integers(len(prefixes))]
        body = "".join(map(str, rng.integers(0, 10, length - len(prefix) - 1)))
        number = prefix + body + luhn_check_digit(prefix + body)
        if number not in seen:
            seen.add(number)
            numbers.append(number)
    return numbers


def _streets(count: int, rng: np.random.Generator) -> list[str]:
    """Faker-style addresses: "3638 Marsh Union", "32941 Krystal Mill Apt. 552"."""
    names = (*FEMALE_FIRST_NAMES, *MALE_FIRST_NAMES, *LAST_NAMES)
    streets = []
    for _ in range(count):
        number = "".join(map(str, rng.integers(0, 10, rng.integers(3, 6))))
        street = f"{number} {names[rng.integers(len(names))]} "
        street += STREET_SUFFIXES[rng.integers(len(STREET_SUFFIXES))]
        unit = rng.random()
        if unit < 0.3:
            street += f" Apt. {rng.integers(0, 1000):03d}"
        elif unit < 0.45:
            street += f" Suite {rng.integers(100, 1000)}"
        streets.append(street)
    return streets


def _build_customers(count: int, rng: np.random.Generator) -> Customers:
    female = rng.random(count) < 0.55
    female_names = rng.choice(len(FEMALE_FIRST_NAMES), count)
    male_names = rng.choice(len(MALE_FIRST_NAMES), count)
    first = [
        FEMALE_FIRST_NAMES[f] if is_female else MALE_FIRST_NAMES[m]
        for is_female, f, m in zip(female, female_names, male_names, strict=True)
    ]
    home = rng.integers(0, len(CITIES), count)
    cities = [CITIES[i] for i in home]
    lat = np.array([city.lat for city in cities]) + rng.normal(0.0, 0.02, count)
    long = np.array([city.long for city in cities]) + rng.normal(0.0, 0.02, count)
    age_days = (18 + 77 * rng.beta(2.2, 3.5, count)) * 365.25
    dob = np.datetime64(AGE_REFERENCE, "D") - age_days.astype(np.int64).astype("timedelta64[D]")
    # lognormal with mean MEAN_DAILY_TRANSACTIONS: a few very active cards, many quiet ones
    sigma = 0.7
    daily_rate = rng.lognormal(np.log(MEAN_DAILY_TRANSACTIONS) - sigma**2 / 2, sigma, count)
    preferences = rng.dirichlet(40.0 * CATEGORY_MIX, count)
    cumulative = np.cumsum(preferences, axis=1)
    cumulative[:, -1] = 1.0
    return Customers(
        cc_num=_text(_card_numbers(count, rng)),
        first=_text(first),
        last=_text([LAST_NAMES[i] for i in rng.choice(len(LAST_NAMES), count)]),
        gender=_text(np.where(female, "F", "M").tolist()),
        street=_text(_streets(count, rng)),
        city=_text([city.name for city in cities]),
        state=_text([city.state for city in cities]),
        zip_code=np.array([city.zip_code for city in cities], dtype=np.int64),
        lat=np.round(lat, 4),
        long=np.round(long, 4),
        city_pop=np.array([city.population for city in cities], dtype=np.int64),
        job=_text([JOBS[i] for i in rng.choice(len(JOBS), count)]),
        dob=dob.astype("datetime64[us]"),
        home_city=home.astype(np.int64),
        daily_rate=daily_rate,
        category_cumulative=cumulative,
        amount_scale=rng.lognormal(0.0, 0.12, count),
    )


def _company_name(rng: np.random.Generator) -> str:
    """A Faker ``company()``: "Kirlin and Sons", "Sporer-Keebler", "Kub, Heaney and Schowalter"."""
    a, b, c = (COMPANY_SURNAMES[i] for i in rng.integers(0, len(COMPANY_SURNAMES), 3))
    style = rng.integers(3)
    if style == 0:
        return f"{a} {COMPANY_SUFFIXES[rng.integers(len(COMPANY_SUFFIXES))]}"
    if style == 1:
        return f"{a}-{b}"
    return f"{a}, {b} and {c}"


def _build_merchants(per_category: int, rng: np.random.Generator) -> Merchants:
    count = per_category * len(CATEGORIES)
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        name = "fraud_" + _company_name(rng)
        if name not in seen:
            seen.add(name)
            names.append(name)
    popularity = rng.lognormal(0.0, 0.5, (len(CATEGORIES), per_category))
    within = np.cumsum(popularity, axis=1) / popularity.sum(axis=1, keepdims=True)
    within[:, -1] = 1.0
    offsets = np.arange(len(CATEGORIES), dtype=np.float64)[:, None]
    return Merchants(
        names=_text(names),
        category=np.repeat(np.arange(len(CATEGORIES), dtype=np.int64), per_category),
        per_category=per_category,
        cumulative=(offsets + within).ravel(),
    )


def build_population(config: SimulatorConfig) -> Population:
    """The customers and merchants of a seed (independent of the simulated dates)."""
    seed = np.random.SeedSequence(config.seed, spawn_key=(POPULATION_STREAM,))
    customer_seed, merchant_seed = seed.spawn(2)
    return Population(
        customers=_build_customers(config.customers, np.random.default_rng(customer_seed)),
        merchants=_build_merchants(
            config.merchants_per_category, np.random.default_rng(merchant_seed)
        ),
    )
