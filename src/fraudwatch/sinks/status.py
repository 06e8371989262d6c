"""Component status: the one heartbeat table every running part writes and everyone reads.

The pipeline (one row per source), the scoring API and later workers each keep one row of
``component_status`` up to date through a :class:`Heartbeat`: what they are doing, the error
that stopped them, how far their stream's clock has got, and when they last said so. The
dashboard's banner, the API's ``/ready`` and ``fraudwatch status`` read it with
:func:`read_statuses`, so an input failure that stops scoring is visible everywhere, and a
component that died without a word (``kill -9``) shows as *silent* once its heartbeat is
older than :data:`SILENT_AFTER`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from fraudwatch.privacy import redact_pans
from fraudwatch.sinks import bulk, tables

if TYPE_CHECKING:
    from fraudwatch.sinks.store import Store

log = logging.getLogger(__name__)

#: A running component whose last heartbeat is older than this has stopped without a word.
SILENT_AFTER = dt.timedelta(seconds=30)
#: Longest stored detail text (an error message), so one huge error cannot bloat the row.
MAX_DETAIL = 2_000
RUNNING, STOPPED, FINISHED, FAILED, SILENT = "running", "stopped", "finished", "failed", "silent"


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive times: they are UTC, as they were written."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class ComponentStatus:
    """One component's last word: state, error, stream clock, progress, heartbeat time."""

    component: str
    kind: str
    state: str
    detail: str | None
    stream_time: dt.datetime | None
    clock_speed: float | None
    processed: int
    started_at: dt.datetime
    heartbeat_at: dt.datetime

    def health(self, now: dt.datetime | None = None) -> str:
        """The state, or *silent* for a running component that stopped beating."""
        now = now or dt.datetime.now(dt.UTC)
        if self.state == RUNNING and now - self.heartbeat_at > SILENT_AFTER:
            return SILENT
        return self.state

    def is_problem(self, now: dt.datetime | None = None) -> bool:
        """Failed, or silent: scoring from this component has stopped unexpectedly."""
        return self.health(now) in (FAILED, SILENT)

    def as_dict(self, now: dt.datetime | None = None) -> dict[str, Any]:
        """JSON-ready form, for ``/ready`` and the CLI."""
        return {
            "component": self.component,
            "kind": self.kind,
            "state": self.health(now),
            "detail": self.detail,
            "stream_time": None if self.stream_time is None else self.stream_time.isoformat(),
            "clock_speed": self.clock_speed,
            "processed": self.processed,
            "started_at": self.started_at.isoformat(),
            "heartbeat_at": self.heartbeat_at.isoformat(),
        }


def write_status(store: Store, status: ComponentStatus) -> None:
    """Insert or replace a component's row (retried on transient errors like every write)."""
    row = {
        "component": status.component,
        "kind": status.kind,
        "state": status.state,
        "detail": None if status.detail is None else redact_pans(status.detail)[:MAX_DETAIL],
        "stream_time": status.stream_time,
        "clock_speed": status.clock_speed,
        "processed": status.processed,
        "started_at": status.started_at,
        "heartbeat_at": status.heartbeat_at,
    }
    table = tables.component_status

    def unit() -> None:
        with store.engine.begin() as conn:
            insert = bulk.dialect_insert(conn, table).values(**row)
            updates = {name: insert.excluded[name] for name in row if name != "component"}
            conn.execute(insert.on_conflict_do_update(index_elements=["component"], set_=updates))

    store.retrying(unit, "write component status")


def read_statuses(store: Store) -> list[ComponentStatus]:
    """Every component's row, problems first, then by name."""
    table = tables.component_status

    def unit() -> list[ComponentStatus]:
        with store.engine.connect() as conn:
            rows = conn.execute(sa.select(table).order_by(table.c.component)).mappings().all()
        return [
            ComponentStatus(
                **{
                    **row,
                    "started_at": _utc(row["started_at"]),
                    "heartbeat_at": _utc(row["heartbeat_at"]),
                }
            )
            for row in rows
        ]

    statuses = store.retrying(unit, "read component status")
    return sorted(statuses, key=lambda status: (not status.is_problem(), status.component))


class Heartbeat:
    """Keeps one component's row current: a beat at most every ``every`` seconds.

    A change of state is written at once. Writing a heartbeat never raises: a component
    that cannot reach the store for its heartbeat goes on scoring (its own writes report
    the outage), and the row then ages into *silent*, which is the truth.
    """

    def __init__(
        self,
        store: Store,
        component: str,
        kind: str,
        *,
        every: float = 5.0,
        clock_speed: float | None = None,
    ) -> None:
        self.store, self.component, self.kind = store, component, kind
        self.every, self.clock_speed = every, clock_speed
        self.started_at = dt.datetime.now(dt.UTC)
        self._last_beat = -float("inf")
        self._last_state: str | None = None

    def beat(
        self,
        state: str = RUNNING,
        *,
        detail: str | None = None,
        stream_time: dt.datetime | None = None,
        processed: int = 0,
        force: bool = False,
    ) -> bool:
        """Write the row when due (or on a change of state, or ``force``); True if written."""
        now = time.monotonic()
        if not force and state == self._last_state and now - self._last_beat < self.every:
            return False
        status = ComponentStatus(
            component=self.component,
            kind=self.kind,
            state=state,
            detail=detail,
            stream_time=stream_time,
            clock_speed=self.clock_speed,
            processed=processed,
            started_at=self.started_at,
            heartbeat_at=dt.datetime.now(dt.UTC),
        )
        try:
            write_status(self.store, status)
        except Exception as error:  # a heartbeat must never stop scoring
            log.warning("could not write the %s heartbeat: %s", self.component, error)
            return False
        self._last_beat, self._last_state = now, state
        return True
