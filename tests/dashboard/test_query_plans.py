"""PostgreSQL plans of the overview aggregate: covered by the event-time index, well estimated.

At 5 M rows the overview's aggregate is fast only as an index-only scan of the covering
``ix_decisions_event_time`` (``benchmarks/dashboard.py`` measures it); these tests hold the
two things that make it possible on a small seeded table: every column the aggregate and
the index-friendly filters read is in the index, and the planner knows how many groups the
daily grouping makes (so it may split the aggregate over parallel workers).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from fraudwatch.dashboard import queries
from fraudwatch.dashboard.filters import Filters
from tests.dashboard.conftest import SeededStore
from tests.dashboard.seed import BASE_TIME

#: Filters whose columns are all in the covering index (merchant search and label status
#: are not: they read the rows, or join the labels).
COVERED = {
    "everything": Filters(),
    "categories": Filters(categories=("grocery_pos", "travel")),
    "states": Filters(states=("CA", "NY")),
    "amount range": Filters(amount_min=50.0, amount_max=150.0),
    "probability range": Filters(probability_min=0.3, probability_max=0.8),
    "flagged": Filters(decision="flagged"),
    "risk levels": Filters(risk_levels=("MEDIUM", "HIGH")),
    "time range": Filters(start=BASE_TIME + timedelta(hours=5), end=BASE_TIME + timedelta(hours=9)),
}

#: Inside the EXPLAIN's transaction (rolled back): only the event-time index left, and
#: sequential and bitmap scans ruled out, so the planner has an index scan of it (reading
#: the rows) and, when the index covers the query, the cheaper index-only scan.
INDEX_ONLY = (
    "DROP INDEX ix_decisions_category",
    "DROP INDEX ix_decisions_card_token",
    "SET LOCAL enable_seqscan = off",
    "SET LOCAL enable_bitmapscan = off",
)


@pytest.fixture
def analysed(seeded_postgres: SeededStore) -> SeededStore:
    """The seeded PostgreSQL store after VACUUM ANALYZE (visibility map and statistics set)."""
    with seeded_postgres.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE decisions"))
    return seeded_postgres


@contextmanager
def summary_statements(store: SeededStore) -> Iterator[list[tuple[str, Any]]]:
    """Collect the overview aggregates (grouped by category) the reader sends meanwhile."""
    sent: list[tuple[str, Any]] = []

    def listen(_conn: object, _cursor: object, statement: str, parameters: Any, *_: object) -> None:
        if "GROUP BY decisions.category" in statement:
            sent.append((statement, parameters))

    engine = store.reader.engine
    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)


def explain(store: SeededStore, statement: str, parameters: Any, *settings: str) -> str:
    """The JSON plan of a captured statement, under the given statements (then rolled back)."""
    with store.engine.connect() as conn:
        for setting in settings:
            conn.execute(sa.text(setting))
        raw = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters).scalar_one()
        conn.rollback()
    return json.dumps(raw)


def captured(store: SeededStore, call: Callable[[], object]) -> tuple[str, Any]:
    """The one overview aggregate ``call`` sends."""
    with summary_statements(store) as sent:
        call()
    assert len(sent) == 1
    return sent[0]


@pytest.mark.parametrize("filters", COVERED.values(), ids=COVERED.keys())
def test_overview_aggregate_is_an_index_only_scan(analysed: SeededStore, filters: Filters) -> None:
    statement, parameters = captured(
        analysed, lambda: queries.by_category(analysed.reader, filters)
    )
    # An index-only scan is possible only if the index holds every column the aggregate
    # and its filters read.
    plan = explain(analysed, statement, parameters, *INDEX_ONLY)
    assert '"Node Type": "Index Only Scan"' in plan
    assert '"Index Name": "ix_decisions_event_time"' in plan
    assert '"Node Type": "Seq Scan"' not in plan


def test_merchant_search_still_reads_the_rows(analysed: SeededStore) -> None:
    """The test above can fail: a filter on a column outside the index is no index-only scan."""
    statement, parameters = captured(
        analysed, lambda: queries.by_category(analysed.reader, Filters(merchant="kirlin"))
    )
    plan = explain(analysed, statement, parameters, *INDEX_ONLY)
    assert '"Node Type": "Index Only Scan"' not in plan


def test_planner_knows_the_number_of_daily_groups(analysed: SeededStore) -> None:
    frame = analysed.seeded.decisions
    groups = frame.assign(
        state=frame["state"].fillna("unknown"), day=frame["event_time"].dt.floor("D")
    )[["category", "state", "day"]].drop_duplicates()
    statement, parameters = captured(
        analysed, lambda: queries.trend(analysed.reader, Filters(), bucket="day")
    )
    top = json.loads(explain(analysed, statement, parameters))[0]["Plan"]
    # Without the migration's statistics the estimate is one group per row (3,000).
    assert len(groups) / 3 <= top["Plan Rows"] <= 3 * len(groups) < len(frame) / 2


def test_summary_transaction_prefers_the_index_on_postgres_only(
    analysed: SeededStore,
) -> None:
    with analysed.reader.engine.connect() as conn:
        queries.prefer_index_only_scans(conn, "postgresql")
        cost = conn.execute(sa.text("SHOW random_page_cost")).scalar_one()
        conn.rollback()
        after = conn.execute(sa.text("SHOW random_page_cost")).scalar_one()
    assert (float(cost), after) == (queries.INDEX_PAGE_COST, "4")
