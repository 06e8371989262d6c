"""Benchmark: end-to-end pipeline throughput (CSV replay as fast as possible → stored
decisions) on SQLite and PostgreSQL, beside the raw model-only prediction rate; one JSON line.

Uses the Kaggle-sized simulated split of ``benchmarks/detection.py`` (simulated and trained
here if absent): the 524,826 test-period transactions are replayed, cold, through the
pipeline with ``--batch-size`` records per micro-batch.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import secrets
import time
from pathlib import Path
from typing import Any

KEY = b"benchmark-key-0123456789abcdef"


def _ensure_data(workdir: Path) -> tuple[Path, Path]:
    from fraudwatch.model.registry import save_bundle
    from fraudwatch.model.train import train_model
    from fraudwatch.pipeline.prepare import read_prepared
    from fraudwatch.sources.simulator import SimulatorConfig, simulate_to_csv

    folder = workdir / "sim_1000_2019-01-01_2021-01-01_2020-06-21_42"
    train_csv, test_csv = folder / "sim_train.csv", folder / "sim_test.csv"
    if not test_csv.exists():
        config = SimulatorConfig(customers=1000, seed=42)
        start, end, split = dt.date(2019, 1, 1), dt.date(2021, 1, 1), dt.date(2020, 6, 21)
        simulate_to_csv(config, start, end, folder / "sim.csv", split_at=split)
    model_dir = folder / "model"
    if not (model_dir / "metadata.json").exists():
        import pandas as pd

        frame = pd.concat(
            [b.transactions for b in read_prepared(train_csv, KEY)], ignore_index=True
        )
        save_bundle(train_model(frame), model_dir)
    return test_csv, model_dir


def _postgres_url() -> tuple[str, str]:
    import psycopg

    name = f"fraudwatch_bench_{secrets.token_hex(4)}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", name


def _drop_postgres(name: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _replay(
    test_csv: Path, model_dir: Path, url: str, batch: int, limit: int | None
) -> dict[str, Any]:
    from fraudwatch.pipeline.inputs import CsvReplay
    from fraudwatch.pipeline.runner import Runner
    from fraudwatch.pipeline.service import ScoringService
    from fraudwatch.sinks.store import Store

    store = Store(url)
    store.upgrade()
    service = ScoringService.from_model_dir(model_dir, KEY)
    started = time.perf_counter()
    summary = Runner(service, store, CsvReplay(test_csv, chunk_rows=batch), max_batch=batch).run()
    seconds = time.perf_counter() - started
    stored = store.count("decisions")
    store.close()
    return {"rows": summary.read, "stored": stored, "seconds": round(seconds, 1),
            "tx_per_s": round(summary.read / seconds)}  # fmt: skip


def _model_only(test_csv: Path, model_dir: Path) -> float:
    import pandas as pd

    from fraudwatch.features import compute_features
    from fraudwatch.model.registry import load_bundle
    from fraudwatch.pipeline.prepare import read_prepared

    bundle = load_bundle(model_dir)
    frame = pd.concat([b.transactions for b in read_prepared(test_csv, KEY)], ignore_index=True)
    features = compute_features(frame, bundle.reference)[bundle.model.features].to_numpy()
    started = time.perf_counter()
    bundle.model.booster.predict(features, raw_score=True)
    return len(features) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, default=Path("data/bench"))
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    test_csv, model_dir = _ensure_data(args.workdir)
    figures: dict[str, Any] = {"benchmark": "throughput", "batch_size": args.batch_size}
    sqlite_path = args.workdir / f"throughput-{secrets.token_hex(4)}.db"
    figures["sqlite"] = _replay(
        test_csv, model_dir, f"sqlite:///{sqlite_path}", args.batch_size, args.limit
    )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{sqlite_path}{suffix}").unlink(missing_ok=True)
    if not args.skip_postgres:
        url, name = _postgres_url()
        try:
            figures["postgres"] = _replay(test_csv, model_dir, url, args.batch_size, args.limit)
        finally:
            _drop_postgres(name)
    model_rate = _model_only(test_csv, model_dir)
    figures["model_only_rows_per_s"] = round(model_rate)
    for backend in ("sqlite", "postgres"):
        if backend in figures:
            figures[f"{backend}_vs_model_only"] = round(
                figures[backend]["tx_per_s"] / model_rate, 3
            )
    figures["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
