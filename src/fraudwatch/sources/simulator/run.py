"""Block by block orchestration: the endless stream, bounded runs and CSV files.

A run is a sequence of blocks of ``block_days`` days counted from the start date, each with
its own random streams derived from (seed, block index). Blocks are always generated whole
and cut at the end date afterwards, so a bounded run is exactly a prefix of the endless
stream; fraud episodes that spill past a block wait in the state for the next one.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from fraudwatch.sources.csv_file import write_transactions
from fraudwatch.sources.simulator.config import SimulatorConfig
from fraudwatch.sources.simulator.frame import build_frame
from fraudwatch.sources.simulator.legit import apply_trips, legit_rows
from fraudwatch.sources.simulator.population import (
    EARLIEST_START,
    Population,
    build_population,
)
from fraudwatch.sources.simulator.rows import SECONDS_PER_DAY, Block, Rows, card_day_keys
from fraudwatch.sources.simulator.scenarios import (
    ScenarioContext,
    account_takeover,
    card_testing,
    compromised_merchant,
    night_burst,
)
from fraudwatch.sources.simulator.state import SimulationState

BLOCK_STREAM = 1
_TIME = "trans_date_trans_time"


def _calendar_day(value: dt.date) -> dt.date:
    """The day of a date or date-time: blocks are whole days, so a time of day is ignored."""
    return dt.date(value.year, value.month, value.day)


def _day(value: dt.date) -> np.datetime64:
    return np.datetime64(_calendar_day(value), "D")


def _without_blackouts(rows: Rows, blackout_keys: np.ndarray) -> Rows:
    if len(blackout_keys) == 0:
        return rows
    return rows.select(~np.isin(card_day_keys(rows.customer, rows.time), blackout_keys))


def _simulate_block(
    config: SimulatorConfig, population: Population, state: SimulationState, block: Block
) -> pd.DataFrame:
    """All rows of one block, time-ordered, advancing ``state`` to the next block."""
    seed = np.random.SeedSequence(config.seed, spawn_key=(BLOCK_STREAM, block.index))
    legit_rng, trip_rng, burst_rng, testing_rng, takeover_rng, breach_rng, id_rng = (
        np.random.default_rng(child) for child in seed.spawn(7)
    )
    legit = legit_rows(population, block, legit_rng)
    legit = apply_trips(legit, population, block, state, trip_rng)
    legit = _without_blackouts(legit, state.blackout_keys)
    state.record_legit(legit)
    state.owe(len(legit), config.fraud_rate, config.scenario_shares)

    context = ScenarioContext(population, block, state)
    burst, burst_keys = night_burst(context, burst_rng)
    state.blackout_keys = np.union1d(state.blackout_keys, burst_keys)
    legit = _without_blackouts(legit, state.blackout_keys)
    later = state.blackout_keys % (1 << 24) >= block.end // SECONDS_PER_DAY
    state.blackout_keys = state.blackout_keys[later]
    testing = card_testing(context, testing_rng)
    takeover = account_takeover(context, legit, takeover_rng)
    breach = compromised_merchant(context, legit, breach_rng)

    fraud = Rows.concat([state.pending, burst, testing, takeover, breach])
    due = fraud.time < block.end
    state.pending = fraud.select(~due)
    rows = Rows.concat([legit, fraud.select(due)])
    rows = rows.select(np.lexsort((rows.customer, rows.time)))
    return build_frame(rows, population, id_rng)


def _stream(
    config: SimulatorConfig, first_day: np.datetime64, end_day: np.datetime64 | None,
    on_rows: Callable[[int], None] | None,
) -> Iterator[pd.DataFrame]:  # fmt: skip
    population = build_population(config)
    state = SimulationState.start(config.customers)
    for index in itertools.count():
        block = Block(index, first_day + np.timedelta64(index * config.block_days, "D"),
                      config.block_days)  # fmt: skip
        if end_day is not None and block.first_day >= end_day:
            return
        frame = _simulate_block(config, population, state, block)
        if end_day is not None and block.first_day + np.timedelta64(block.n_days, "D") > end_day:
            frame = frame[frame[_TIME] < pd.Timestamp(end_day)].reset_index(drop=True)
        if on_rows is not None:
            on_rows(len(frame))
        yield frame


def simulate(
    config: SimulatorConfig, start: dt.date, end: dt.date | None,
    on_rows: Callable[[int], None] | None = None,
) -> Iterator[pd.DataFrame]:  # fmt: skip
    """Time-ordered chunks of raw records in [start, end), or endless when ``end`` is None.

    One chunk per block of ``config.block_days`` days, so memory stays bounded however long
    the run; the arguments are checked now, the records are made as the chunks are pulled.
    """
    start = _calendar_day(start)
    end = None if end is None else _calendar_day(end)
    if start < EARLIEST_START:
        raise ValueError(f"start must be on or after {EARLIEST_START} (customers' birth dates)")
    if end is not None and end < start:
        raise ValueError(f"end ({end}) is before start ({start})")
    return _stream(config, _day(start), None if end is None else _day(end), on_rows)


def simulate_to_csv(
    config: SimulatorConfig, start: dt.date, end: dt.date, out: Path,
    split_at: dt.date | None = None, on_rows: Callable[[int], None] | None = None,
) -> dict[Path, int]:  # fmt: skip
    """Write ``out``, or ``<stem>_train`` / ``<stem>_test`` split by date; rows per file.

    Splitting by time rather than at random keeps fraud bursts on one side, the honest way
    to evaluate; the test file starts its row index at 0, like Kaggle's fraudTest.csv.
    """
    out = Path(out)
    frames = simulate(config, start, end, on_rows)
    if split_at is None:
        return {out: write_transactions(frames, out)}
    suffix = out.suffix or ".csv"
    train_path = out.with_name(f"{out.stem}_train{suffix}")
    test_path = out.with_name(f"{out.stem}_test{suffix}")
    boundary = pd.Timestamp(_day(split_at))
    remainder: list[pd.DataFrame] = []

    def before_split() -> Iterator[pd.DataFrame]:
        for frame in frames:
            early = frame[_TIME] < boundary
            if not early.all():
                yield frame[early]
                remainder.append(frame[~early].reset_index(drop=True))
                return
            yield frame

    def after_split() -> Iterator[pd.DataFrame]:
        yield from remainder
        yield from frames

    train_rows = write_transactions(before_split(), train_path)
    test_rows = write_transactions(after_split(), test_path)
    return {train_path: train_rows, test_path: test_rows}
