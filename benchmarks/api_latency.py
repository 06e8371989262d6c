"""Benchmark: scoring API latency at a steady request rate; prints one JSON line.

Trains a model on a small simulated data set (cached in the work folder), starts
``fraudwatch.api.server.run`` in a subprocess (SQLite store, API key required), then sends
single-transaction ``POST /v1/score`` requests at a steady rate (default 200/s for 20 s,
paced by an absolute schedule, keep-alive connections from a few sender threads) and the
same for ``POST /predict``; then ``GET /health`` with the same client, whose latency is the
client's and HTTP's own share (``client_floor_health``).
Latency is measured by the client from each request's *scheduled* send time to its
response, so a stalled server cannot hide queued requests (no coordinated omission).
Target: p99 <= 10 ms at 200 requests/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

KEY = b"benchmark-key-0123456789abcdef"
API_KEY = "bench-api-key"
TARGET_P99_MS = 10.0
#: Sender threads of the load generator. 16 threads put the client's own p99 at ~6 ms
#: (GIL contention; measured on GET /health), 4 threads at ~2.4 ms; 4 keep up with
#: 200 requests/s while the server answers in < 20 ms (a wait for a free sender counts).
SENDERS = 4


def _prepare(workdir: Path, customers: int) -> tuple[Path, list[dict[str, Any]]]:
    """A trained model (cached) and the test-period transactions as JSON-ready records."""
    import pandas as pd

    from fraudwatch.model.registry import save_bundle
    from fraudwatch.model.train import TrainConfig, train_model
    from fraudwatch.pipeline.prepare import read_prepared
    from fraudwatch.sources.csv_file import read_transactions
    from fraudwatch.sources.simulator import SimulatorConfig, simulate_to_csv

    workdir.mkdir(parents=True, exist_ok=True)
    train, test = workdir / "sim_train.csv", workdir / "sim_test.csv"
    if not (train.exists() and test.exists()):
        simulate_to_csv(
            SimulatorConfig(customers=customers, seed=7), dt.date(2020, 1, 1),
            dt.date(2020, 9, 1), workdir / "sim.csv", split_at=dt.date(2020, 8, 1),
        )  # fmt: skip
    model_dir = workdir / "model"
    if not (model_dir / "metadata.json").exists():
        frame = pd.concat([b.transactions for b in read_prepared(train, KEY)], ignore_index=True)
        save_bundle(train_model(frame, TrainConfig(max_rounds=300, threads=2)), model_dir)
    rows = next(read_transactions(test, limit=20_000))
    rows = rows.drop(columns=["is_fraud", "fraud_scenario"], errors="ignore")
    rows = rows.sort_values("trans_date_trans_time", kind="stable")
    records = [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in rows.to_dict("records")
    ]
    return model_dir, records


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_server(model_dir: Path, workdir: Path, port: int) -> subprocess.Popen[bytes]:
    code = (
        "from pathlib import Path; from fraudwatch.api.server import run; "
        f"run(Path({str(model_dir)!r}), '127.0.0.1', {port}, "
        f"'sqlite:///{workdir / 'api_bench.db'}', api_keys=[{API_KEY!r}])"
    )
    env = dict(os.environ, FRAUDWATCH_DATA_DIR=str(workdir), FRAUDWATCH_PAN_KEY=KEY.decode())
    server = subprocess.Popen([sys.executable, "-c", code], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the API server did not start within 60 s")


def _run_at_rate(
    base_url: str, path: str, bodies: list[Any], rate: float, senders: int = SENDERS
) -> dict[str, Any]:
    """Send ``bodies`` at ``rate`` per second on an absolute schedule; latency per request.

    A few sender threads, each with its own keep-alive ``httpx.Client``, take requests as
    their send time comes (an asyncio client costs several ms of client-side jitter at this
    rate, which would be measured as server latency). A request that finds every sender
    busy waits, and that wait counts: latency runs from the scheduled send time.
    """
    jobs: queue.Queue[tuple[Any, float] | None] = queue.Queue()
    latencies: list[float] = []
    decided: list[float] = []  # the server's own arrival-to-decision time (latency_ms)
    errors = 0
    lock = threading.Lock()

    def sender() -> None:
        nonlocal errors
        with httpx.Client(base_url=base_url, headers={"X-API-Key": API_KEY}, timeout=30) as client:
            while (job := jobs.get()) is not None:
                body, scheduled = job
                # no body: the client's floor, a request the server does nothing for
                response = client.get(path) if body is None else client.post(path, json=body)
                elapsed = (time.perf_counter() - scheduled) * 1000.0
                with lock:
                    latencies.append(elapsed)
                    if response.status_code != 200:
                        errors += 1
                        continue
                    answer = response.json()
                    if "latency_ms" in (answer.get("details") or answer):
                        decided.append(float((answer.get("details") or answer)["latency_ms"]))

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(senders)]
    for thread in threads:
        thread.start()
    start = time.perf_counter() + 0.05
    for number, body in enumerate(bodies):
        scheduled = start + number / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        jobs.put((body, scheduled))
    for _ in threads:
        jobs.put(None)
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    values = np.array(latencies)
    return {
        "requests": len(values),
        "errors": errors,
        "achieved_rps": round(len(values) / elapsed, 1),
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p95_ms": round(float(np.percentile(values, 95)), 2),
        "p99_ms": round(float(np.percentile(values, 99)), 2),
        "max_ms": round(float(values.max()), 2),
        "server_decision_p50_ms": round(float(np.percentile(decided, 50)), 2) if decided else None,
        "server_decision_p99_ms": round(float(np.percentile(decided, 99)), 2) if decided else None,
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(
    port: int, pid: int, records: list[dict[str, Any]], rate: float, seconds: float
) -> Any:
    count = int(rate * seconds)
    warmup = 300
    needed = 2 * (warmup + count)
    pool = (records * (needed // len(records) + 1))[:needed]
    base_url = f"http://127.0.0.1:{port}"
    results = {}
    position = 0
    for path, wrap in (("/v1/score", None), ("/predict", "data")):
        batch = pool[position : position + warmup + count]
        position += warmup + count
        bodies = [{wrap: r, "threshold": "balanced"} if wrap else r for r in batch]
        _run_at_rate(base_url, path, bodies[:warmup], rate)  # warm up, not counted
        cpu = _cpu_seconds(pid)
        results[path] = _run_at_rate(base_url, path, bodies[warmup:], rate)
        cpu_ms = (_cpu_seconds(pid) - cpu) * 1000.0 / count
        results[path]["server_cpu_ms_per_request"] = round(cpu_ms, 2)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="per endpoint")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--workdir", type=Path, default=Path("data/bench/api_latency"))
    args = parser.parse_args()
    model_dir, records = _prepare(args.workdir, args.customers)
    port = _free_port()
    server = _start_server(model_dir, args.workdir, port)
    try:
        endpoints = _measure(port, server.pid, records, args.rate, args.seconds)
        # the same client on GET /health: how much of the latency is the client and HTTP
        floor = _run_at_rate(
            f"http://127.0.0.1:{port}", "/health", [None] * int(args.rate * 5), args.rate
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    worst_p99 = max(result["p99_ms"] for result in endpoints.values())
    print(
        json.dumps(
            {
                "benchmark": "api_latency",
                "target_rps": args.rate,
                "seconds_per_endpoint": args.seconds,
                "endpoints": endpoints,
                "client_floor_health": {k: floor[k] for k in ("p50_ms", "p95_ms", "p99_ms")},
                "senders": SENDERS,
                "target_p99_ms": TARGET_P99_MS,
                "target_met": worst_p99 <= TARGET_P99_MS,
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
