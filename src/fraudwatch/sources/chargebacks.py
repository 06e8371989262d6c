"""Simulated chargebacks for the demo: the simulator's frauds, released once old enough.

In production the issuer reports a fraud days after it happened (a chargeback, a customer
dispute); legitimate transactions are never reported. The demo plays that out: it hands
the :class:`ChargebackReleaser` every simulated row (``trans_num``, ``event_time``,
``is_fraud``), and asks it, as the stream clock moves, for the frauds now older than the
delay. Each comes back once, as a ``chargeback`` :class:`~fraudwatch.sources.labels.LabelReport`
reported at ``event_time + delay`` (so the same simulation gives the same reports, and
sending one twice stores it once).
"""

from __future__ import annotations

import heapq
from datetime import UTC, datetime, timedelta

import pandas as pd

from fraudwatch.sources.labels import LabelReport

DEFAULT_CHARGEBACK_DELAY = timedelta(days=3)
NOTE = "simulated chargeback"


class ChargebackReleaser:
    """Holds simulated frauds until the stream clock is ``delay`` past them, then reports them."""

    def __init__(self, delay: timedelta = DEFAULT_CHARGEBACK_DELAY) -> None:
        if delay < timedelta(0):
            raise ValueError(f"the chargeback delay must not be negative, got {delay}")
        self.delay = delay
        self._due: list[tuple[pd.Timestamp, str]] = []  # (release time, trans_num)
        self._seen: set[str] = set()

    @property
    def waiting(self) -> int:
        """Frauds not released yet."""
        return len(self._due)

    def add(self, rows: pd.DataFrame) -> int:
        """Take simulated rows; their frauds wait for release. Returns how many were new."""
        frauds = rows.loc[pd.to_numeric(rows["is_fraud"], errors="coerce") == 1]
        times = pd.to_datetime(frauds["event_time"], utc=True)
        added = 0
        for trans_num, moment in zip(frauds["trans_num"].astype(str), times, strict=True):
            if trans_num in self._seen:
                continue
            self._seen.add(trans_num)
            heapq.heappush(self._due, (moment + self.delay, trans_num))
            added += 1
        return added

    def release(self, clock: datetime | pd.Timestamp) -> list[LabelReport]:
        """The frauds whose event time is at least ``delay`` before ``clock``, each once."""
        now = pd.Timestamp(clock)
        now = now.tz_localize(UTC) if now.tzinfo is None else now.tz_convert(UTC)
        released = []
        while self._due and self._due[0][0] <= now:
            reported_at, trans_num = heapq.heappop(self._due)
            report = LabelReport(
                trans_num=trans_num,
                label=1,
                reported_at=reported_at.to_pydatetime(),
                source="chargeback",
                note=NOTE,
            )
            released.append(report)
        return released
