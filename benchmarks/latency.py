"""Benchmark: pipeline latency from arrival to committed decision at a steady offered rate,
and the feature state's memory for many cards; prints one JSON line.

Part 1 replays the Kaggle-sized simulated test file (see ``benchmarks/throughput.py``) at
``--rate`` transactions per second (default 1,000) into a SQLite store through the runner
(micro-batches of up to 1,000 records or 20 ms); each transaction's latency is measured
from the moment the input hands it over to the moment its batch is committed. Part 2
pushes ``--cards`` distinct cards (default 1,000,000, two transactions each) through the
online feature state and reports the process's peak memory (target ≤ 1.5 GiB).
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.throughput import KEY, _ensure_data


class _Clocked:
    """Wraps an input to remember when each transaction was handed over."""

    def __init__(self, source: Any, received: dict[str, float]) -> None:
        self.source, self.received = source, received
        self.source_id, self.kind, self.finite = source.source_id, source.kind, source.finite
        self.rate = source.rate

    def arrivals(self, position: str | None, stop: threading.Event) -> Iterator[Any]:
        for arrival in self.source.arrivals(position, stop):
            now = time.time()
            for trans_num in arrival.records["trans_num"].tolist():  # str (Arrow text)
                self.received[trans_num] = now
            yield arrival


def _pipeline_latency(
    test_csv: Path, model_dir: Path, rate: float, seconds: float, workdir: Path
) -> dict[str, Any]:
    from fraudwatch.pipeline.inputs import CsvReplay
    from fraudwatch.pipeline.runner import Runner
    from fraudwatch.pipeline.service import ScoringService
    from fraudwatch.sinks.store import Store

    database = workdir / "latency.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    store = Store(f"sqlite:///{database}")
    store.upgrade()
    received: dict[str, float] = {}
    latencies: list[float] = []

    def committed(decisions: pd.DataFrame) -> None:
        now = time.time()
        latencies.extend(now - received[t] for t in decisions["trans_num"])

    source = _Clocked(CsvReplay(test_csv, rate=rate, chunk_rows=5000), received)
    runner = Runner(ScoringService.from_model_dir(model_dir, KEY), store, source, hooks=[committed])
    stop = threading.Event()
    threading.Timer(seconds, stop.set).start()
    summary = runner.run(stop)
    store.close()
    ms = np.array(latencies) * 1000
    figures: dict[str, Any] = {
        "offered_tx_per_s": rate,
        "achieved_tx_per_s": round(summary.read / summary.seconds),
        "transactions": len(ms),
        "batches": summary.batches,
    }
    for quantile in (50, 95, 99):
        figures[f"p{quantile}_ms"] = round(float(np.percentile(ms, quantile)), 2)
    figures["max_ms"] = round(float(ms.max()), 2)
    return figures


def _state_memory(model_dir: Path, cards: int) -> dict[str, Any]:
    from fraudwatch.features import OnlineFeatures
    from fraudwatch.model.registry import load_bundle
    from fraudwatch.schema import CATEGORIES

    reference = load_bundle(model_dir).reference
    engine = OnlineFeatures(reference)
    rng = np.random.default_rng(1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    batch, total = 10_000, 2 * cards
    epoch = pd.Timestamp("2024-01-01")
    started = time.perf_counter()
    for start in range(0, total, batch):
        n = min(batch, total - start)
        ids = (np.arange(start, start + n) % cards).astype(np.int64)
        frame = pd.DataFrame({
            "card_token": pd.Series([f"{i:032x}" for i in ids], dtype=object),
            "event_time": epoch + pd.to_timedelta(start + np.arange(n), unit="s"),
            "amt": rng.gamma(2.0, 30.0, n), "category": rng.choice(CATEGORIES, n),
            "merchant": pd.Series([f"fraud_M{i % 700}" for i in ids], dtype=object),
            "merch_lat": rng.uniform(25, 48, n), "merch_long": rng.uniform(-120, -70, n),
            "lat": rng.uniform(25, 48, n), "long": rng.uniform(-120, -70, n),
            "city_pop": rng.integers(100, 1_000_000, n), "gender": rng.choice(["M", "F"], n),
            "dob": pd.Timestamp("1980-01-01"),
        })  # fmt: skip
        engine.transform_many(frame)
    gc.collect()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "cards": engine.cards,
        "transactions": total,
        "seconds": round(time.perf_counter() - started, 1),
        "retained_events": engine.retained_events(),
        "peak_rss_mib": round(peak),
        "rss_before_mib": round(before),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, default=Path("data/bench"))
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--cards", type=int, default=1_000_000)
    args = parser.parse_args()
    test_csv, model_dir = _ensure_data(args.workdir)
    figures: dict[str, Any] = {"benchmark": "latency"}
    figures["pipeline"] = _pipeline_latency(
        test_csv, model_dir, args.rate, args.seconds, args.workdir
    )
    figures["state_memory"] = _state_memory(model_dir, args.cards)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
