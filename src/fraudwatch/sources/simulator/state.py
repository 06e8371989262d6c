"""What one block hands to the next: card histories, fraud owed, and unfinished episodes.

Blocks are generated one after the other with their own random streams; this state is the
only thing that flows between them, which is why a bounded run and an endless stream with
the same start produce the same rows for the same days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fraudwatch.sources.simulator.config import SCENARIOS
from fraudwatch.sources.simulator.rows import (
    SECONDS_PER_DAY,
    BoolArray,
    FloatArray,
    IntArray,
    Rows,
)

#: A card is defrauded at most once per this many seconds (60 days).
FRAUD_COOLDOWN = 60 * SECONDS_PER_DAY
FAR_FUTURE = np.iinfo(np.int64).max // 2
FAR_PAST = -FAR_FUTURE


@dataclass
class SimulationState:
    """Per-card memory and carried-over work of a running simulation."""

    first_legit: IntArray
    fraud_until: IntArray
    debt: FloatArray
    blackout_keys: IntArray
    pending: Rows
    trip_from: IntArray
    trip_until: IntArray
    trip_city: IntArray

    @classmethod
    def start(cls, customers: int) -> SimulationState:
        """The state before the first block: no history, nothing owed."""
        return cls(
            first_legit=np.full(customers, FAR_FUTURE, dtype=np.int64),
            fraud_until=np.full(customers, FAR_PAST, dtype=np.int64),
            debt=np.zeros(len(SCENARIOS), dtype=np.float64),
            blackout_keys=np.zeros(0, dtype=np.int64),
            pending=Rows.empty(),
            trip_from=np.full(customers, FAR_PAST, dtype=np.int64),
            trip_until=np.full(customers, FAR_PAST, dtype=np.int64),
            trip_city=np.zeros(customers, dtype=np.int64),
        )

    def record_legit(self, rows: Rows) -> None:
        """Remember each card's first legitimate transaction (fraud may only follow it)."""
        np.minimum.at(self.first_legit, rows.customer, rows.time)

    def owe(self, legit_rows: int, fraud_rate: float, mix: Sequence[float]) -> None:
        """Add this block's fraud rows to what each scenario owes (``mix``: each one's share),
        capped against starvation."""
        total = fraud_rate / (1.0 - fraud_rate) * legit_rows
        for scenario, share in enumerate(mix):
            due = share * total
            self.debt[scenario] = min(self.debt[scenario] + due, 3.0 * due + 20.0)

    def can_defraud(self, customer: IntArray, start: IntArray) -> BoolArray:
        """Cards that have a legitimate past and no fraud episode within the cooldown."""
        return np.asarray(
            (self.first_legit[customer] < start)
            & (start >= self.fraud_until[customer] + FRAUD_COOLDOWN),
            dtype=np.bool_,
        )

    def record_fraud(self, scenario: int, rows: Rows) -> None:
        """Start the cooldown of the defrauded cards and pay back the scenario's debt."""
        np.maximum.at(self.fraud_until, rows.customer, rows.time)
        self.debt[scenario] -= len(rows)


def first_eligible(customer: IntArray, eligible: BoolArray, needed: int) -> IntArray:
    """Positions of the first ``needed`` eligible candidates, at most one per card."""
    positions = np.flatnonzero(eligible)
    _, first = np.unique(customer[positions], return_index=True)
    return np.asarray(positions[np.sort(first)][:needed], dtype=np.int64)


def episodes_for_debt(debt: float, sizes: IntArray) -> int:
    """How many of these episodes (in order) it takes for their rows to cover ``debt``."""
    if debt <= 0 or len(sizes) == 0:
        return 0
    covered = int(np.searchsorted(np.cumsum(sizes), debt, side="left")) + 1
    return min(covered, len(sizes))
