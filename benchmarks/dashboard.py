"""Dashboard query time per page on a large PostgreSQL store; prints one JSON line.

Fills a fresh database (``FRAUDWATCH_BENCH_DATABASE_URL``, else a throw-away database on
127.0.0.1 as user ``postgres``, dropped at the end) with ``--rows`` synthetic decisions
through ``COPY`` (plus their alerts, a few thousand labels and a registered model), then
times the query functions each page calls — the same ones, with the same arguments — for
two views: everything stored, and the last 24 hours. Each page is timed ``--repeat`` times;
the JSON holds the slowest and the median run of each. Target: < 2 s per page.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from fraudwatch.dashboard import browse, export, model_info, queries
from fraudwatch.dashboard.filters import Filters, time_range
from fraudwatch.dashboard.source import Reader
from fraudwatch.decision import DECISION_COLUMNS
from fraudwatch.schema import CATEGORIES
from fraudwatch.sinks import Store

STATES = np.array([
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ",
    "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT",
    "VA", "WA", "WV", "WI", "WY",
], dtype=object)  # fmt: skip
REASONS = json.dumps(
    [
        "7 transactions on this card in the last hour (usual: 0.3)",
        "amount 12.4× the card's usual in this category",
        "night-time purchase on a card that shops by day",
    ]
)
THRESHOLD = 0.5
VERSION = "fw-bench-dashboard"
END = datetime(2026, 3, 31)


@contextmanager
def bench_database() -> Iterator[str]:
    """The configured benchmark database, or a throw-away one on the local server."""
    configured = os.environ.get("FRAUDWATCH_BENCH_DATABASE_URL")
    if configured:
        yield configured
        return
    name = f"fraudwatch_bench_{secrets.token_hex(4)}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def decision_chunk(
    start: int, n: int, rows: int, days: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Decisions ``start`` .. ``start + n`` of ``rows`` spread evenly over the last ``days``
    days, in time order (as a live pipeline writes them)."""
    cards = rng.integers(0, 200_000, n)
    probability = np.round(rng.beta(0.5, 6.0, n), 6)
    level = (probability >= THRESHOLD / 2).astype(int) + (probability >= THRESHOLD)
    level += probability >= 0.9
    period = days * 86_400
    first, last = period * start / rows, period * (start + n) / rows
    seconds = period - np.sort(rng.uniform(first, last, n))  # seconds before END, decreasing
    numbers = np.arange(start, start + n)
    frame = pd.DataFrame(
        {
            "trans_num": np.char.add("b", np.char.zfill(numbers.astype(str), 10)),
            "card_token": np.char.zfill(cards.astype(str), 32),
            "masked_pan": np.char.add(
                "411111******", np.char.zfill((cards % 10_000).astype(str), 4)
            ),
            "event_time": pd.Timestamp(END) - pd.to_timedelta(seconds, unit="s"),
            "amount": np.round(rng.gamma(2.0, 40.0, n), 2),
            "merchant": np.char.add("fraud_Merchant ", (rng.integers(0, 700, n)).astype(str)),
            "category": np.array(CATEGORIES, dtype=object)[rng.integers(0, len(CATEGORIES), n)],
            "state": STATES[rng.integers(0, len(STATES), n)],
            "fraud_probability": probability,
            "risk_level": np.array(["LOW", "MEDIUM", "HIGH", "CRITICAL"], dtype=object)[level],
            "decision": (probability >= THRESHOLD).astype(int),
            "threshold": THRESHOLD,
            "model_version": VERSION,
            "reasons": np.where(level > 0, REASONS, "[]"),
            "latency_ms": np.round(rng.gamma(2.0, 3.0, n), 3),
            "source": "bench",
        }
    )
    return frame.loc[:, list(DECISION_COLUMNS)]


def fill(url: str, rows: int, days: int, chunk: int) -> dict[str, Any]:
    """Migrate, then COPY ``rows`` decisions, their alerts, labels and a model; VACUUM ANALYZE."""
    started = time.perf_counter()
    with Store(url) as store:
        store.upgrade()
        store.record_model_version(
            VERSION,
            {"version": VERSION, "threshold": THRESHOLD, "threshold_policy": "cost",
             "validation_metrics": {"model": {"average_precision": 0.95}}},
            champion=True,
        )  # fmt: skip
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    rng = np.random.default_rng(0)
    columns = ", ".join(DECISION_COLUMNS)
    with psycopg.connect(libpq) as conn:
        for start in range(0, rows, chunk):
            frame = decision_chunk(start, min(chunk, rows - start), rows, days, rng)
            text = frame.to_csv(index=False, header=False, date_format="%Y-%m-%d %H:%M:%S.%f")
            with conn.cursor().copy(f"COPY decisions ({columns}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(text.encode("utf-8"))
            conn.commit()
        conn.execute(
            "INSERT INTO alerts (trans_num, risk_level, fraud_probability) "
            "SELECT trans_num, risk_level, fraud_probability FROM decisions WHERE decision = 1"
        )
        conn.execute(
            "INSERT INTO labels (trans_num, is_fraud, analyst, note) "
            "SELECT trans_num, (random() < 0.7)::int, 'bench', NULL FROM decisions "
            "WHERE decision = 1 AND right(trans_num, 1) = '0' ORDER BY trans_num LIMIT 5000"
        )
        conn.commit()
        conn.autocommit = True
        # as autovacuum would after a load: statistics, and the visibility map that lets
        # the overview's aggregate read the covering index alone (no heap visits)
        conn.execute("VACUUM ANALYZE")
        flagged = conn.execute("SELECT count(*) FROM alerts").fetchone()
        sizes = conn.execute(
            "SELECT pg_relation_size('decisions'), pg_relation_size('ix_decisions_event_time')"
        ).fetchone()
    return {
        "load_s": round(time.perf_counter() - started, 1),
        "flagged": flagged[0] if flagged else 0,
        "table_mb": round(sizes[0] / 2**20) if sizes else None,
        "event_time_index_mb": round(sizes[1] / 2**20) if sizes else None,
    }


def pages(reader: Reader, filters: Filters) -> dict[str, Callable[[], object]]:
    """Each page's queries, as the page calls them (default table settings)."""

    def shell() -> object:
        return reader.has_schema(), queries.known_states(reader), queries.freshness(reader)

    def overview() -> object:
        return (
            queries.freshness(reader),
            queries.overview_data(reader, filters),
            model_info.current_model(reader),
        )

    def table(alerts: bool) -> Callable[[], object]:
        def run() -> object:
            chosen = filters.with_(label="unlabelled") if alerts else filters
            page = browse.transactions_page(
                reader, chosen, sort="probability" if alerts else "time", alerts_only=alerts
            )
            if page.rows.empty:
                return page
            detail = browse.transaction_detail(reader, str(page.rows["trans_num"].iloc[0]))
            assert detail is not None
            return page, detail, browse.card_history(reader, detail.card_token)

        return run

    def model() -> object:
        return (
            model_info.current_model(reader),
            model_info.live_precision(reader, filters),
            model_info.decisions_by_model(reader, filters),
        )

    def export_first_chunk() -> object:
        chunks = export.csv_chunks(reader, filters)
        header, first = next(chunks), next(chunks)
        chunks.close()  # type: ignore[attr-defined]
        return header, first

    return {
        "shell": shell,
        "overview": overview,
        "transactions": table(False),
        "alerts": table(True),
        "model": model,
        "export_first_chunk": export_first_chunk,
    }


def time_pages(reader: Reader, filters: Filters, repeat: int) -> dict[str, dict[str, float]]:
    """Slowest and median seconds of each page over ``repeat`` runs."""
    figures = {}
    for name, run in pages(reader, filters).items():
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
        figures[name] = {
            "max_s": round(max(times), 3),
            "median_s": round(statistics.median(times), 3),
        }
    return figures


def main() -> None:
    """Fill (unless ``--reuse``), time both views, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=30, help="period the decisions span")
    parser.add_argument("--chunk", type=int, default=250_000, help="rows per COPY")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--reuse", action="store_true", help="time an already filled FRAUDWATCH_BENCH_DATABASE_URL"
    )
    args = parser.parse_args()
    with bench_database() as url:
        loaded = {"load_s": None} if args.reuse else fill(url, args.rows, args.days, args.chunk)
        reader = Reader(url)
        try:
            newest = queries.freshness(reader)[0]
            start, end = time_range("Last 24 hours", newest)
            all_time = time_pages(reader, Filters(), args.repeat)
            last_day = time_pages(reader, Filters(start=start, end=end), args.repeat)
        finally:
            reader.close()
    slowest = max(page["max_s"] for view in (all_time, last_day) for page in view.values())
    print(
        json.dumps(
            {
                "benchmark": "dashboard",
                "backend": "postgresql",
                "rows": args.rows,
                "days": args.days,
                **loaded,
                "pages_all_time": all_time,
                "pages_last_24h": last_day,
                "slowest_page_s": slowest,
                "target_s": 2.0,
                "met": slowest < 2.0,
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
    )


if __name__ == "__main__":
    main()
