"""Benchmark: write synthetic decisions to the store in batches; print one JSON line of rows/s.

SQLite: a fresh file in a temporary folder. PostgreSQL: ``FRAUDWATCH_BENCH_DATABASE_URL``
(a fresh schema inside it, dropped afterwards), else a fresh database on 127.0.0.1:5432
created as user ``postgres`` and dropped at the end. Each batch is one ``write_batch`` call
with a checkpoint, as the pipeline makes it.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from sqlalchemy.engine import make_url

from fraudwatch.decision import DECISION_COLUMNS
from fraudwatch.schema import CATEGORIES
from fraudwatch.sinks import Store
from fraudwatch.sinks.database import normalise_url

BENCH_URL_ENV = "FRAUDWATCH_BENCH_DATABASE_URL"
PG_HOST, PG_PORT = "127.0.0.1", 5432


def synthetic_decisions(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    probability = rng.beta(0.3, 8.0, n)
    decision = (probability >= 0.5).astype(np.int64)
    risk = np.where(decision == 1, "HIGH", np.where(probability >= 0.25, "MEDIUM", "LOW"))
    reasons = np.where(
        probability >= 0.25,
        json.dumps(["7 transactions on this card in the last hour (usual: 0.3)", "night"]),
        "[]",
    )
    cards = rng.integers(0, 20_000, n)
    frame = pd.DataFrame(
        {
            "trans_num": [secrets.token_hex(16) for _ in range(n)],
            "card_token": np.char.mod("%032x", cards),
            "masked_pan": "411111******1111",
            "event_time": (
                pd.Timestamp("2020-06-21") + pd.to_timedelta(np.arange(n) * 2, unit="s")
            ).astype("datetime64[us]"),
            "amount": np.round(rng.gamma(2.0, 40.0, n), 2),
            "merchant": np.char.mod("fraud_Merchant %d", rng.integers(0, 700, n)),
            "category": np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), n)],
            "state": np.array(["CA", "NY", "TX", "FL", "WA"])[rng.integers(0, 5, n)],
            "fraud_probability": probability,
            "risk_level": risk,
            "decision": decision,
            "threshold": 0.5,
            "model_version": "bench-model",
            "reasons": reasons,
            "latency_ms": rng.gamma(2.0, 2.0, n),
            "source": "benchmark",
        }
    )
    return frame.loc[:, list(DECISION_COLUMNS)]


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def postgres_url() -> Iterator[str]:
    """A URL where the benchmark may create tables, cleaned up afterwards."""
    configured = os.environ.get(BENCH_URL_ENV)
    if configured:
        url = normalise_url(configured)
        schema = f"bench_{secrets.token_hex(4)}"
        with psycopg.connect(_libpq(url), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            parsed = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
            yield parsed.render_as_string(hide_password=False)
        finally:
            with psycopg.connect(_libpq(url), autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        return
    name = f"fraudwatch_bench_{secrets.token_hex(4)}"
    admin = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_reachable() -> bool:
    if os.environ.get(BENCH_URL_ENV):
        return True
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=1):
            return True
    except OSError:
        return False


def write_all(url: str, decisions: pd.DataFrame, batch_rows: int) -> dict[str, Any]:
    """Write every row in batches into a freshly migrated store; time the writes only."""
    with Store(url) as store:
        store.upgrade()
        started = time.perf_counter()
        for start in range(0, len(decisions), batch_rows):
            batch = decisions.iloc[start : start + batch_rows]
            store.write_batch(batch, checkpoint=("benchmark", str(start + len(batch))))
        seconds = time.perf_counter() - started
        assert store.count("decisions") == len(decisions)
        alerts = store.count("alerts")
    return {
        "rows_per_s": round(len(decisions) / seconds),
        "seconds": round(seconds, 2),
        "alerts": alerts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1_000, 10_000])
    args = parser.parse_args()

    decisions = synthetic_decisions(args.rows)
    result: dict[str, Any] = {"rows": args.rows, "batch_sizes": args.batch_sizes}
    sqlite: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="fraudwatch-bench-") as folder:
        for size in args.batch_sizes:
            path = Path(folder) / f"batch{size}.db"
            sqlite[str(size)] = write_all(f"sqlite:///{path}", decisions, size)
    result["sqlite"] = sqlite

    if _postgres_reachable():
        postgres: dict[str, Any] = {}
        for size in args.batch_sizes:
            with postgres_url() as url:
                postgres[str(size)] = write_all(url, decisions, size)
        result["postgresql"] = postgres
    else:
        result["postgresql"] = {"skipped": f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT}"}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
