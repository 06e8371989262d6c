"""The live demo: the whole system on one laptop, on SQLite and local files.

On first start it simulates a history and trains a model (about a minute), then runs the
simulated live feed, the streaming pipeline reading that feed, and the scoring API — all
sharing one scoring service, so an API call and a feed transaction see the same card
history — until stopped.

The demo's clock. The model learned from card holders who buy every few hours. A feed that
stamped 400 simulated card holders' purchases with the wall clock at 20 tx/s would make
every card buy every 20 s — velocity features a thousand times their usual values, and
mostly false alerts. So the live stream runs on the simulator's own clock, sped up
``speed`` times (600x by default: a simulated day every 2.4 minutes), and each transaction
carries its simulated time as event time: per-card timing is the training data's. The live
stream starts where the training history ends (the demo's *epoch*, kept in
``<data_dir>/demo.json`` with the API key), and a restart continues it from the stored
checkpoint instead of starting it again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
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
from fraudwatch.pipeline.runner import Runner, RunSummary, start_position
from fraudwatch.pipeline.service import ScoringService
from fraudwatch.sinks.store import Store
from fraudwatch.sources.chargebacks import DEFAULT_CHARGEBACK_DELAY, ChargebackReleaser
from fraudwatch.sources.feed_publisher import FeedPublisher
from fraudwatch.sources.labels import LabelReport
from fraudwatch.sources.simulator import SimulatorConfig, simulate

log = logging.getLogger(__name__)

#: The demo's population: small enough to simulate and train in about a minute.
DEMO_CUSTOMERS = 400
DEMO_HISTORY_DAYS = 180
#: Stream seconds per wall second: a simulated day every 2.4 minutes, ~10 tx/s for 400 cards.
DEMO_SPEED = 600.0
Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoState:
    """What makes the demo the same demo across restarts (``<data_dir>/demo.json``).

    ``epoch`` is the first day of the live stream (the training history is the
    ``DEMO_HISTORY_DAYS`` before it); ``api_key`` is kept so saved commands keep working.
    """

    seed: int
    epoch: dt.date
    api_key: str

    @staticmethod
    def path(data_dir: Path) -> Path:
        """Where the state lives."""
        return data_dir / "demo.json"

    @classmethod
    def load_or_create(cls, data_dir: Path, seed: int, today: dt.date) -> DemoState:
        """The stored state, or a new one (epoch today, a fresh API key) written at once."""
        path = cls.path(data_dir)
        if path.is_file():
            saved = json.loads(path.read_text(encoding="utf-8"))
            state = cls(int(saved["seed"]), dt.date.fromisoformat(saved["epoch"]), saved["api_key"])
            if state.seed != seed:
                log.warning(
                    "the demo in %s was started with seed %d; keeping it (delete %s to start "
                    "a new demo with seed %d)",
                    data_dir,
                    state.seed,
                    path.name,
                    seed,
                )
            return state
        state = cls(seed, today, secrets.token_urlsafe(18))
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**asdict(state), "epoch": today.isoformat()}), "utf-8")
        path.chmod(0o600)  # it holds the API key
        return state

    @property
    def config(self) -> SimulatorConfig:
        """The simulated population of this demo."""
        return SimulatorConfig(customers=DEMO_CUSTOMERS, seed=self.seed)

    @property
    def source_id(self) -> str:
        """The live stream's name, the same whatever port the feed listens on."""
        return f"demo-feed:{self.seed}:{self.epoch.isoformat()}"

    def history(self) -> Iterator[pd.DataFrame]:
        """The simulated history the demo trains on and warms card state with."""
        start = self.epoch - dt.timedelta(days=DEMO_HISTORY_DAYS)
        return simulate(self.config, start, self.epoch)

    def live_stream(self) -> Iterator[pd.DataFrame]:
        """The endless live stream, from the epoch on (the same rows on every start)."""
        return simulate(self.config, self.epoch, None)


def ensure_model(data_dir: Path, key: bytes, state: DemoState, progress: Progress) -> Path:
    """The champion model; when there is none, simulate a history and train one."""
    with contextlib.suppress(ModelNotFoundError):
        return champion_dir(data_dir)
    progress(f"no model yet: simulating {DEMO_HISTORY_DAYS} days of {DEMO_CUSTOMERS} card holders")
    history = prepare_batch(pd.concat(state.history(), ignore_index=True), key)
    progress(f"training on {len(history.transactions):,} transactions")
    bundle = train_model(history.transactions, TrainConfig(max_rounds=400))
    folder = save_bundle(bundle, default_model_dir(data_dir, bundle.version))
    models_root(data_dir).mkdir(parents=True, exist_ok=True)
    promote(folder, data_dir)
    return folder


@dataclass
class LiveSystem:
    """Handles of the running demo: addresses, the API key, the clock, and how to stop it."""

    feed_url: str
    api_url: str
    api_key: str
    runner: Runner
    stop: threading.Event
    speed: float
    threads: list[threading.Thread] = field(default_factory=list)
    dashboard_url: str | None = None
    failure: BaseException | None = None

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
    speed: float = DEMO_SPEED,
    database_url: str,
    migration_url: str | None = None,
    api_keys: list[str],
    progress: Progress,
    dashboard_port: int | None = None,
    log_every: float = 10.0,
    chargeback_delay: dt.timedelta = DEFAULT_CHARGEBACK_DELAY,
) -> Iterator[LiveSystem]:
    """Start feed, pipeline, API (and the dashboard on ``dashboard_port``); stop all on exit.

    The simulator's frauds come back as chargeback labels once the stream clock is
    ``chargeback_delay`` past them, as an issuer's would. A pipeline that fails sets
    ``stop`` and leaves its error in ``LiveSystem.failure`` (and in the status table, where
    the dashboard and ``/ready`` show it).
    """
    import uvicorn

    from fraudwatch.api.app import create_app
    from fraudwatch.sources.feed_server import running_feed_server

    state = DemoState.load_or_create(data_dir, seed, dt.date.today())
    service = ScoringService.from_model_dir(ensure_model(data_dir, key, state, progress), key)
    store = Store(database_url, migration_url=migration_url)
    store.upgrade()
    store.record_model_version(service.model_version, service.bundle.metadata, champion=True)
    state_dir = data_dir / "state"
    position, from_snapshot = start_position(store, state.source_id, state_dir)
    if not from_snapshot:
        progress("warming card history with the simulated past")
        for frame in state.history():
            service.learn_history(prepare_batch(frame, key).transactions)
    cursor = int(position or 0)
    if cursor:
        progress(f"continuing the live stream after transaction {cursor:,}")
    publisher = FeedPublisher(state.live_stream(), speed=speed, start_cursor=cursor)
    keys = api_keys or [state.api_key]
    stop = threading.Event()
    with running_feed_server(publisher, port=feed_port) as feed_url:
        runner = Runner(
            service,
            store,
            FeedInput(feed_url, wait=0.2, source_id=state.source_id, speed=speed),
            max_wait=0.02,
            state_dir=state_dir,
            log_every=log_every,
        )
        config = uvicorn.Config(
            create_app(service, store=store, api_keys=keys),
            host=api_host,
            port=api_port,
            log_config=None,
        )
        server = uvicorn.Server(config)
        system = LiveSystem(feed_url, f"http://{api_host}:{api_port}", keys[0], runner, stop, speed)

        def run_pipeline() -> None:
            try:
                runner.run(stop)
            except BaseException as error:
                system.failure = error
                log.error("the pipeline stopped: %s: %s", type(error).__name__, error)
                stop.set()

        pipeline = threading.Thread(target=run_pipeline, name="fraudwatch-pipeline", daemon=True)
        api = threading.Thread(target=server.run, name="fraudwatch-api", daemon=True)
        chargebacks = threading.Thread(
            target=_release_chargebacks,
            args=(state, store, runner, stop, chargeback_delay),
            name="fraudwatch-chargebacks",
            daemon=True,
        )
        system.threads = [pipeline, api, chargebacks]
        pipeline.start()
        api.start()
        chargebacks.start()
        deadline = time.monotonic() + 15
        while not server.started and api.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not server.started:
            stop.set()
            raise RuntimeError(f"the scoring API could not start on {api_host}:{api_port}")
        dashboard: subprocess.Popen[str] | None = None
        dashboard_log: IO[str] | None = None
        try:
            if dashboard_port is not None:
                from fraudwatch.dashboard.server import start_dashboard

                dashboard_log = (data_dir / "dashboard.log").open("a", encoding="utf-8")
                dashboard = start_dashboard(
                    database_url, dashboard_port, api_host, log=dashboard_log
                )
                system.dashboard_url = f"http://{api_host}:{dashboard_port}"
            yield system
        finally:
            if dashboard is not None:
                _stop_process(dashboard)
            if dashboard_log is not None:
                dashboard_log.close()
            stop.set()
            server.should_exit = True
            pipeline.join(timeout=15)
            api.join(timeout=15)
            chargebacks.join(timeout=15)
            store.close()


def _release_chargebacks(
    state: DemoState, store: Store, runner: Runner, stop: threading.Event, delay: dt.timedelta
) -> None:
    """Report the live stream's frauds as chargebacks once the stream clock is past them.

    The releaser reads the same deterministic stream as the feed, a block ahead of the
    clock; a report sent again after a restart is stored once (same key).
    """
    releaser = ChargebackReleaser(delay)
    frames = state.live_stream()
    read_until: pd.Timestamp | None = None
    unsent: list[LabelReport] = []
    while not stop.wait(1.0):
        clock = runner.stream_time
        if clock is None:
            continue
        while read_until is None or read_until < clock:
            frame = next(frames)
            times = pd.to_datetime(frame["trans_date_trans_time"])
            rows = pd.DataFrame(
                {
                    "trans_num": frame["trans_num"],
                    "event_time": times,
                    "is_fraud": frame["is_fraud"],
                }
            )
            releaser.add(rows)
            read_until = times.max()
        unsent += releaser.release(clock)
        if unsent:
            try:
                store.add_labels(unsent)
            except Exception as error:  # kept and sent again on the next tick
                log.warning("could not store %d chargebacks yet: %s", len(unsent), error)
            else:
                unsent = []


def _stop_process(process: subprocess.Popen[str], timeout: float = 15.0) -> None:
    """Ask a child process to stop (SIGTERM); kill it if it has not within ``timeout``."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
