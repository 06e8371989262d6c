"""The live demo: the whole system on one laptop, on SQLite and local files.

On first start it simulates a history and trains a model (about a minute), then runs the
simulated live feed, the streaming pipeline reading that feed, and the scoring API — all
sharing one scoring service, so an API call and a feed transaction see the same card
history — until stopped.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pandas as pd

from fraudwatch.model.registry import (
    ModelNotFoundError,
    champion_dir,
    models_root,
    promote,
    save_bundle,
)
from fraudwatch.model.train import TrainConfig, default_model_dir, train_model
from fraudwatch.pipeline.inputs import FeedInput
from fraudwatch.pipeline.prepare import prepare_batch
from fraudwatch.pipeline.runner import Runner, RunSummary
from fraudwatch.pipeline.service import ScoringService
from fraudwatch.sinks.store import Store
from fraudwatch.sources.simulator import SimulatorConfig, simulate

log = logging.getLogger(__name__)

#: The demo's population: small enough to simulate and train in about a minute.
DEMO_CUSTOMERS = 400
DEMO_HISTORY_DAYS = 180
Progress = Callable[[str], None]


def demo_history(seed: int, today: dt.date) -> Iterator[pd.DataFrame]:
    """The simulated history the demo trains on and warms card state with."""
    config = SimulatorConfig(customers=DEMO_CUSTOMERS, seed=seed)
    return simulate(config, today - dt.timedelta(days=DEMO_HISTORY_DAYS), today)


def ensure_model(data_dir: Path, key: bytes, seed: int, today: dt.date, progress: Progress) -> Path:
    """The champion model; when there is none, simulate a history and train one."""
    with contextlib.suppress(ModelNotFoundError):
        return champion_dir(data_dir)
    progress(f"no model yet: simulating {DEMO_HISTORY_DAYS} days of {DEMO_CUSTOMERS} card holders")
    history = prepare_batch(pd.concat(demo_history(seed, today), ignore_index=True), key)
    progress(f"training on {len(history.transactions):,} transactions")
    bundle = train_model(history.transactions, TrainConfig(max_rounds=400))
    folder = save_bundle(bundle, default_model_dir(data_dir, bundle.version))
    models_root(data_dir).mkdir(parents=True, exist_ok=True)
    promote(folder, data_dir)
    return folder


@dataclass
class LiveSystem:
    """Handles of the running demo: addresses, the API key, and how to stop it."""

    feed_url: str
    api_url: str
    api_key: str
    runner: Runner
    stop: threading.Event
    threads: list[threading.Thread] = field(default_factory=list)
    dashboard_url: str | None = None

    @property
    def summary(self) -> RunSummary:
        """What the pipeline has done so far."""
        return self.runner.summary


@contextlib.contextmanager
def live_system(
    data_dir: Path,
    key: bytes,
    *,
    seed: int,
    feed_port: int,
    api_host: str,
    api_port: int,
    rate: float,
    database_url: str,
    api_keys: list[str],
    progress: Progress,
    dashboard_port: int | None = None,
) -> Iterator[LiveSystem]:
    """Start feed, pipeline, API (and the dashboard on ``dashboard_port``); stop all on exit."""
    import uvicorn

    from fraudwatch.api.app import create_app
    from fraudwatch.sources.feed_server import running_feed_server

    today = dt.date.today()
    service = ScoringService.from_model_dir(ensure_model(data_dir, key, seed, today, progress), key)
    progress("warming card history with the simulated past")
    for frame in demo_history(seed, today):
        batch = prepare_batch(frame, key).transactions
        service.engine.transform_many(batch.sort_values("event_time", kind="stable"), labelled=True)
    store = Store(database_url)
    store.upgrade()
    store.record_model_version(service.model_version, service.bundle.metadata, champion=True)
    keys = api_keys or [secrets.token_urlsafe(18)]
    live_feed = simulate(SimulatorConfig(customers=DEMO_CUSTOMERS, seed=seed), today, None)
    stop = threading.Event()
    with running_feed_server(live_feed, port=feed_port, rate=rate) as feed_url:
        runner = Runner(service, store, FeedInput(feed_url, wait=0.2), max_wait=0.02)
        pipeline = threading.Thread(
            target=runner.run, args=(stop,), name="fraudwatch-pipeline", daemon=True
        )
        config = uvicorn.Config(
            create_app(service, store=store, api_keys=keys),
            host=api_host,
            port=api_port,
            log_config=None,
        )
        server = uvicorn.Server(config)
        api = threading.Thread(target=server.run, name="fraudwatch-api", daemon=True)
        pipeline.start()
        api.start()
        deadline = time.monotonic() + 15
        while not server.started and api.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not server.started:
            stop.set()
            raise RuntimeError(f"the scoring API could not start on {api_host}:{api_port}")
        system = LiveSystem(
            feed_url, f"http://{api_host}:{api_port}", keys[0], runner, stop, [pipeline, api]
        )
        dashboard: subprocess.Popen[str] | None = None
        log: IO[str] | None = None
        try:
            if dashboard_port is not None:
                from fraudwatch.dashboard.server import start_dashboard

                log = (data_dir / "dashboard.log").open("a", encoding="utf-8")
                dashboard = start_dashboard(database_url, dashboard_port, api_host, log=log)
                system.dashboard_url = f"http://{api_host}:{dashboard_port}"
            yield system
        finally:
            if dashboard is not None:
                _stop_process(dashboard)
            if log is not None:
                log.close()
            stop.set()
            server.should_exit = True
            pipeline.join(timeout=15)
            api.join(timeout=15)
            store.close()


def _stop_process(process: subprocess.Popen[str], timeout: float = 15.0) -> None:
    """Ask a child process to stop (SIGTERM); kill it if it has not within ``timeout``."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
