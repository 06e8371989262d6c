"""Transactions as parallel numpy arrays: the form every generation step works on.

Rows hold only what varies per transaction (customer index, time, merchant, amount, ...);
customer and merchant attributes are joined in once per block when the frame is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

SECONDS_PER_DAY = 86_400
SECONDS_PER_HOUR = 3_600


@dataclass(frozen=True)
class Rows:
    """A set of transactions; ``time`` is epoch seconds, ``scenario`` is -1 when legitimate."""

    customer: IntArray
    time: IntArray
    category: IntArray
    merchant: IntArray
    amount: FloatArray
    merch_lat: FloatArray
    merch_long: FloatArray
    scenario: IntArray

    def __len__(self) -> int:
        return len(self.time)

    def select(self, which: BoolArray | IntArray) -> Rows:
        """The rows picked by a mask or an index array, in that order."""
        return Rows(**{item.name: getattr(self, item.name)[which] for item in fields(self)})

    @staticmethod
    def concat(parts: Sequence[Rows]) -> Rows:
        """All rows of several sets, one after the other."""
        if not parts:
            return Rows.empty()
        return Rows(
            **{
                item.name: np.concatenate([getattr(part, item.name) for part in parts])
                for item in fields(Rows)
            }
        )

    @staticmethod
    def empty() -> Rows:
        """No rows (the neutral element of :meth:`concat`)."""
        ints = np.zeros(0, dtype=np.int64)
        floats = np.zeros(0, dtype=np.float64)
        return Rows(ints, ints, ints, ints, floats, floats, floats, ints)


def group_offsets(sizes: IntArray) -> tuple[IntArray, IntArray]:
    """Episode number of each row and row position inside its episode, for repeated sizes."""
    episode = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
    starts = np.cumsum(sizes) - sizes
    return episode, np.arange(len(episode), dtype=np.int64) - starts[episode]


def grouped_cumsum(values: IntArray, sizes: IntArray) -> IntArray:
    """Running sum of ``values`` that restarts at each episode (episodes are consecutive)."""
    if len(values) == 0:
        return values.copy()
    running = np.cumsum(values)
    episode, _ = group_offsets(sizes)
    before = running[np.cumsum(sizes) - sizes] - values[np.cumsum(sizes) - sizes]
    return np.asarray(running - before[episode], dtype=np.int64)


@dataclass(frozen=True)
class Block:
    """A generation unit of ``n_days`` whole days; block ``index`` starts at ``first_day``."""

    index: int
    first_day: np.datetime64
    n_days: int

    @property
    def start(self) -> int:
        """Epoch seconds of the block's first instant."""
        return int(self.first_day.astype("datetime64[D]").astype(np.int64)) * SECONDS_PER_DAY

    @property
    def end(self) -> int:
        """Epoch seconds just after the block (exclusive)."""
        return self.start + self.n_days * SECONDS_PER_DAY

    @property
    def seconds(self) -> int:
        """Length of the block in seconds."""
        return self.n_days * SECONDS_PER_DAY

    def days(self) -> npt.NDArray[np.datetime64]:
        """The calendar days of the block."""
        first = self.first_day.astype("datetime64[D]")
        return np.arange(first, first + np.timedelta64(self.n_days, "D"))


def card_day_keys(customer: IntArray, time: IntArray) -> IntArray:
    """One integer per (card, calendar day): what a night burst blacks out."""
    return np.asarray(customer * (1 << 24) + time // SECONDS_PER_DAY, dtype=np.int64)
