"""Benchmark: detection quality and speed on Kaggle-sized simulated data; prints one JSON line.

Simulates 1,000 card holders over two years (≈1.8 M rows, split like Kaggle's fraudTrain /
fraudTest at 2020-06-21), trains (features + LightGBM), scores the test part through the
online path with the training part as history, and evaluates. Each heavy stage runs in its
own process so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import resource
import time
from pathlib import Path
from typing import Any

from fraudwatch.sources.simulator import SCENARIOS

KEY = b"benchmark-key-0123456789abcdef"


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _train(train_csv: Path, model_dir: Path, queue: Any) -> None:
    import pandas as pd

    from fraudwatch.model.registry import save_bundle
    from fraudwatch.model.train import train_model
    from fraudwatch.pipeline.prepare import read_prepared

    started = time.perf_counter()
    frame = pd.concat([b.transactions for b in read_prepared(train_csv, KEY)], ignore_index=True)
    read_seconds = time.perf_counter() - started
    began = time.perf_counter()
    bundle = train_model(frame)
    train_seconds = time.perf_counter() - began
    save_bundle(bundle, model_dir)
    validation = bundle.metadata["validation_metrics"]["model"]
    queue.put({"train_rows": len(frame), "read_seconds": round(read_seconds, 1),
               "features_and_training_seconds": round(train_seconds, 1),
               "train_peak_rss_mib": round(_peak_mib()), "trees": bundle.model.booster.num_trees(),
               "validation_ap": round(validation["average_precision"], 4),
               "threshold": round(bundle.model.threshold, 4)})  # fmt: skip


def _score(model_dir: Path, test_csv: Path, train_csv: Path, out: Path, queue: Any) -> None:
    from fraudwatch.pipeline.score_file import score_file

    summary = score_file(model_dir, test_csv, out, KEY, history=train_csv)
    queue.put({"scored_rows": summary.scored, "history_rows": summary.history_rows,
               "warm_seconds": round(summary.warm_seconds, 1),
               "score_seconds": round(summary.seconds - summary.warm_seconds, 1),
               "score_rows_per_s": round(summary.rows_per_second),
               "score_peak_rss_mib": round(_peak_mib())})  # fmt: skip


def _in_child(target: Any, *args: Any) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    result: dict[str, Any] = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--start", default="2019-01-01")
    parser.add_argument("--end", default="2021-01-01")
    parser.add_argument("--split-at", default="2020-06-21")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help="comma-separated fraud scenarios to simulate (default: all four)",
    )
    parser.add_argument("--workdir", type=Path, default=Path("data/bench"))
    args = parser.parse_args()

    from fraudwatch.model.evaluate import evaluate
    from fraudwatch.sources.simulator import SimulatorConfig, shares_for, simulate_to_csv

    names = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    try:
        shares = shares_for(names)
    except ValueError as error:
        parser.error(str(error))
    tag = f"sim_{args.customers}_{args.start}_{args.end}_{args.split_at}_{args.seed}"
    if set(names) != set(SCENARIOS):
        tag += "_" + "+".join(name for name in SCENARIOS if name in names)
    folder = args.workdir / tag
    train_csv, test_csv = folder / "sim_train.csv", folder / "sim_test.csv"
    if not (train_csv.exists() and test_csv.exists()):
        simulate_to_csv(
            SimulatorConfig(customers=args.customers, seed=args.seed, scenario_shares=shares),
            dt.date.fromisoformat(args.start), dt.date.fromisoformat(args.end),
            folder / "sim.csv", split_at=dt.date.fromisoformat(args.split_at),
        )  # fmt: skip
    figures: dict[str, Any] = {"benchmark": "detection", "data": tag}
    figures.update(_in_child(_train, train_csv, folder / "model"))
    figures.update(_in_child(_score, folder / "model", test_csv, train_csv, folder / "scores.csv"))
    report = evaluate(folder / "scores.csv", test_csv, folder / "report")
    model, baseline = report["model"], report["baseline_static_only"]
    keys = ("average_precision", "roc_auc", "precision", "recall", "f1", "episode_recall",
            "recall_at_0.5%_alerts", "recall_at_1%_alerts", "card_precision_at_100",
            "fraud_amount_caught", "first_transaction_recall", "small_amount_recall",
            "average_precision_after_first")  # fmt: skip
    figures["test"] = {key: round(model[key], 4) for key in keys}
    figures["baseline_static_only"] = {key: round(baseline[key], 4) for key in keys}
    figures["scenarios"] = {
        name: {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}
        for name, row in report["scenarios"].items()
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
