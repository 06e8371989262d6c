"""The stream's clock: each record's event time is judged against the newest one already scored.

Wall-clock time cannot judge event times: a replay of the 2019-2020 Kaggle files is years
behind it and the demo's accelerated simulated clock runs days ahead of it. The stream
itself can: its clock is the newest event time the scoring service has accepted. A record
more than ``max_skew`` ahead of it (a typo'd year, a device clock gone wild) or more than
``max_age`` behind it (a 2020 example sent to a 2026 stream) would corrupt its card's
history — the "previous transaction" gap of every later record of that card, the dashboard's
time range — so it becomes a dead letter with how far off it is, and the rest of its batch
goes on.

Records are judged one after the other in arrival order, and only accepted records move the
clock, so the verdicts depend on the input's order alone, not on how it was cut into
batches: a replay of the same input gives the same dead letters.

Two situations need more than "newest accepted event time":

* **Empty clock** (the very first batch): the clock starts at the (lower) median of that
  batch's event times, not at its first record, so a few wild records in a first batch
  that spans years are outvoted and dead-lettered; a replay file's first chunk (hours or
  days) starts where it is. A first batch of one record has no one to outvote it: it sets
  the clock, and the next rule corrects a wrong one.
* **A stream that moved on** (back after a pause longer than ``max_skew``, a clock restored
  from an old snapshot, or a clock set by one wrong record): ``reanchor_run`` consecutive
  out-of-window records that agree with each other (each within ``max_skew`` of the newest)
  move the clock to them, in either direction; the last of them is accepted, the earlier
  ones stay dead letters. One wild record, or a few that disagree, never move it, and a
  single accepted record in between starts the count again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from fraudwatch.schema import EVENT_TIME, FieldError

#: Consecutive agreeing out-of-window records that move the clock to them.
REANCHOR_RUN = 5
_MS_PER_DAY = 86_400_000
_MS_PER_YEAR = 365.25 * _MS_PER_DAY


@dataclass(frozen=True)
class ClockPolicy:
    """How far event times may stray from the stream clock (milliseconds)."""

    max_skew_ms: int
    max_age_ms: int
    reanchor_run: int = REANCHOR_RUN

    @classmethod
    def from_seconds(cls, max_skew: float, max_age: float) -> ClockPolicy:
        """A policy from the settings' seconds (``FRAUDWATCH_MAX_EVENT_SKEW`` / ``_AGE``)."""
        return cls(int(max_skew * 1000), int(max_age * 1000))

    @classmethod
    def unbounded(cls) -> ClockPolicy:
        """A clock that refuses no event time: for a file scored offline, not a stream.

        ``fraudwatch score`` takes the file's rows as they are (a gap after the history, a
        stray year): refusing them would also change every later score of their cards.
        """
        return cls(2**62, 2**62)


@dataclass
class ClockVerdict:
    """What the clock says about a batch, and the clock state after it."""

    accepted: np.ndarray  # one bool per record, in input order
    errors: dict[int, FieldError]  # input position -> why the record was refused
    clock_ms: int | None
    run: list[int] = field(default_factory=list)  # the pending out-of-window event times


def judge(
    times_ms: np.ndarray, clock_ms: int | None, run: Sequence[int], policy: ClockPolicy
) -> ClockVerdict:
    """Judge a batch's event times (epoch ms, input order) against the stream clock.

    ``clock_ms`` None is the empty clock; ``run`` the out-of-window event times pending
    from earlier batches. Nothing is changed in place: the caller keeps the verdict's clock
    and run once the accepted records are stored in the card state.
    """
    times = np.asarray(times_ms, dtype=np.int64)
    n = len(times)
    if n == 0:
        return ClockVerdict(np.ones(0, dtype=bool), {}, clock_ms, list(run))
    start = int(np.sort(times)[(n - 1) // 2]) if clock_ms is None else int(clock_ms)
    # the usual case at C speed: every record in the window of the clock before it
    before = np.maximum.accumulate(np.concatenate(([start], times[:-1])))
    in_window = (times <= before + policy.max_skew_ms) & (times >= before - policy.max_age_ms)
    if in_window.all():
        return ClockVerdict(in_window, {}, max(start, int(times.max())), [])
    accepted = np.zeros(n, dtype=bool)
    errors: dict[int, FieldError] = {}
    clock, pending = start, list(run)
    for position, event in enumerate(times.tolist()):
        offset = event - clock
        if -policy.max_age_ms <= offset <= policy.max_skew_ms:
            accepted[position], clock, pending = True, max(clock, event), []
            continue
        pending = [*(t for t in pending if abs(t - event) <= policy.max_skew_ms), event]
        if len(pending) >= policy.reanchor_run:  # the stream agrees on another time
            accepted[position], clock, pending = True, max(pending), []
            continue
        errors[position] = FieldError(EVENT_TIME, _explain(offset, clock, policy))
    return ClockVerdict(accepted, errors, clock, pending)


def _explain(offset_ms: int, clock_ms: int, policy: ClockPolicy) -> str:
    """``event time is 6.0 years behind the stream clock (...)``, with the limit and setting."""
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=clock_ms)
    where = f"the stream clock ({moment:%Y-%m-%d %H:%M:%S} UTC, the newest event time scored)"
    if offset_ms > 0:
        limit = f"at most {duration(policy.max_skew_ms)} ahead (FRAUDWATCH_MAX_EVENT_SKEW)"
        return f"event time is {duration(offset_ms)} ahead of {where}; {limit}"
    limit = f"at most {duration(policy.max_age_ms)} behind (FRAUDWATCH_MAX_EVENT_AGE)"
    return f"event time is {duration(-offset_ms)} behind {where}; {limit}"


def duration(ms: float) -> str:
    """A length of time in the largest unit that fits: ``6.0 years``, ``3.0 days``, ``5 s``."""
    if ms >= _MS_PER_YEAR:
        return f"{ms / _MS_PER_YEAR:.1f} years"
    if ms >= _MS_PER_DAY:
        return f"{ms / _MS_PER_DAY:.1f} days"
    if ms >= 3_600_000:
        return f"{ms / 3_600_000:.1f} hours"
    return f"{ms / 1000:.0f} s"
