"""Benchmark: the live demo against what its model learned; prints one JSON line.

Runs the demo's live system (feed on the simulated clock → pipeline → SQLite, plus the
API) for ``--seconds`` of wall time at ``--speed`` (default: the demo's own defaults, 600
seconds at 600x, i.e. a 10-minute demo covering about 4 simulated days), then compares the
stored decisions with the simulator's truth: the live flag rate and alert precision beside
the model's validation figures, and the median gap between a card's transactions beside
the training history's. The issue's targets: flag rate 0.5x-2x validation's, precision at
least 0.8x, gap 0.5x-2x. The model is trained on the first run into ``--workdir`` and
reused afterwards; the store starts empty on every run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import shutil
import time
from pathlib import Path

from fraudwatch.demo import DEMO_SPEED, DemoState, live_system
from fraudwatch.demo_targets import demo_targets
from fraudwatch.privacy import load_or_create_key
from fraudwatch.sinks.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="wall seconds of demo")
    parser.add_argument("--speed", type=float, default=DEMO_SPEED, help="simulated clock speed")
    parser.add_argument("--seed", type=int, default=42, help="the demo's seed")
    parser.add_argument("--workdir", type=Path, default=Path("build/bench-demo"), help="data dir")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    data_dir = args.workdir
    for stale in ("fraudwatch.db", "fraudwatch.db-wal", "fraudwatch.db-shm", "state", "demo.json"):
        path = data_dir / stale
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    key = load_or_create_key(None, data_dir / "pan.key")
    url = f"sqlite:///{data_dir / 'fraudwatch.db'}"
    with live_system(
        data_dir, key, seed=args.seed, feed_port=0, api_host="127.0.0.1", api_port=0,
        speed=args.speed, database_url=url, api_keys=["bench"], progress=lambda _: None,
    ) as system:  # fmt: skip
        started = time.monotonic()
        system.stop.wait(args.seconds)
        wall = time.monotonic() - started
        metadata = system.runner.service.bundle.metadata
    store = Store(url)
    state = DemoState.load_or_create(data_dir, args.seed, dt.date.today())  # the run's own
    figures = demo_targets(store, state, metadata)
    store.close()
    print(json.dumps({"benchmark": "demo_live", "seconds": round(wall, 1),
                      "speed": args.speed, **figures.as_dict()}))  # fmt: skip


if __name__ == "__main__":
    main()
