"""The running components as the dashboard sees them: who stopped scoring, how fast the clock runs.

Every component (the pipeline per source, the API) keeps one row of ``component_status``
current through :class:`fraudwatch.sinks.status.Heartbeat`. The dashboard reads the rows
with :func:`~fraudwatch.sinks.status.read_statuses` and shows a banner for each *failed* or
*silent* one (:func:`problems`, :func:`banner_text`), because a pipeline whose input broke
otherwise looks like a quiet hour on every chart. The pipeline's row also says how fast the
stream's clock runs (``clock_speed``): the live demo stamps events with a simulated clock
600 times faster than the wall clock, and "last hour" means something else then.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from fraudwatch.dashboard import formats
from fraudwatch.dashboard.source import Reader
from fraudwatch.sinks import tables
from fraudwatch.sinks.status import SILENT, ComponentStatus, read_statuses

#: Longest error text shown in a banner (the full text is in the component's log).
BANNER_DETAIL = 400


def read_component_statuses(reader: Reader) -> list[ComponentStatus]:
    """Every component's row, problems first; none when the store predates the table."""
    name = tables.component_status.name
    if not reader.run(lambda conn: sa.inspect(conn).has_table(name), "look for component status"):
        return []
    return read_statuses(reader.store)


def problems(statuses: list[ComponentStatus], now: datetime | None = None) -> list[ComponentStatus]:
    """The components that stopped scoring unexpectedly: failed, or silent."""
    now = now or datetime.now(UTC)
    return [status for status in statuses if status.is_problem(now)]


def banner_text(status: ComponentStatus, now: datetime | None = None) -> str:
    """One problem in words: which component, its state, since when, and its error."""
    now = now or datetime.now(UTC)
    since = f"{formats.moment(status.heartbeat_at.astimezone(UTC))} UTC"
    ago = formats.duration(now - status.heartbeat_at)
    if status.health(now) == SILENT:
        text = (
            f"{_name(status)} is **silent**: running, but no heartbeat since {since} "
            f"({ago} ago); it stopped without a word (killed, or its host is down)"
        )
    else:
        text = f"{_name(status)} has **{status.state}** at {since} ({ago} ago)"
    detail = (status.detail or "").strip()
    if detail:
        shown = detail if len(detail) <= BANNER_DETAIL else detail[:BANNER_DETAIL] + " …"
        shown = shown.replace("`", "'")  # a code span cannot hold a backtick
        text += f" — `{shown}`"
    return text + ". Nothing it reads is scored until it runs again."


def _name(status: ComponentStatus) -> str:
    """The component's name as code: a URL in it must not become a link."""
    name = status.component.replace("`", "'")
    return f"`{name}`"


def stream_speed(statuses: list[ComponentStatus]) -> float | None:
    """How fast the stream's clock runs (stream seconds per wall second), from the pipeline
    whose stream has got furthest; None for a plain replay (or no pipeline row)."""
    pipelines = [status for status in statuses if status.kind == "pipeline"]
    if not pipelines:
        return None
    furthest = max(
        pipelines,
        key=lambda status: (
            status.stream_time or datetime.min,
            status.heartbeat_at,
        ),
    )
    speed = furthest.clock_speed
    return speed if speed is not None and speed > 0 else None
