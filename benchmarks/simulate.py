"""Benchmark: simulate customers over days to a Kaggle-layout CSV; print one JSON line."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from fraudwatch.schema import SCENARIO_COLUMN
from fraudwatch.sources.csv_file import read_transactions
from fraudwatch.sources.simulator import SCENARIOS, SimulatorConfig, simulate_to_csv

START = dt.date(2019, 1, 1)


def _peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _label_counts(path: Path) -> tuple[int, dict[str, int]]:
    frauds = 0
    per_scenario = dict.fromkeys(SCENARIOS, 0)
    for chunk in read_transactions(path):
        frauds += int(pd.to_numeric(chunk["is_fraud"]).sum())
        for name, count in chunk[SCENARIO_COLUMN].value_counts().items():
            if name in per_scenario:
                per_scenario[str(name)] += int(count)
    return frauds, per_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--out", type=Path, default=None, help="CSV path (default: temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        out = args.out or Path(folder) / "simulated.csv"
        config = SimulatorConfig(customers=args.customers)
        began = time.perf_counter()
        written = simulate_to_csv(config, START, START + dt.timedelta(days=args.days), out)
        seconds = time.perf_counter() - began
        peak = _peak_rss_mib()  # before the label count below reads the file back
        rows = sum(written.values())
        frauds, per_scenario = _label_counts(out)
    result = {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "peak_rss_mib": round(peak, 1),
        "fraud_rate": round(frauds / max(rows, 1), 5),
        "scenario_rows": per_scenario,
        "customers": args.customers,
        "days": args.days,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
