"""Live commands: serve the feed, poll it, and the live demo."""

from __future__ import annotations

import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from fraudwatch.cli.common import (
    app,
    console,
    model_folder,
    pan_key,
    progress_every,
    readable_source,
    stop_on_signals,
)
from fraudwatch.cli.extras import require_extra
from fraudwatch.config import get_settings

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pandas as pd


def _feed_source(source: str, customers: int, seed: int, start: date) -> Iterator[pd.DataFrame]:
    """Frames for the feed: a Kaggle-layout file, or the endless simulator from ``start``.

    The ``--source`` string is read by :func:`~fraudwatch.pipeline.inputs.open_input`, as
    ``fraudwatch run`` reads it; only sources with frames of their own can be served.
    """
    from fraudwatch.pipeline.inputs import CsvReplay, SimulatorInput, open_input

    try:
        opened = open_input(source, rate=None, seed=seed, start=start, customers=customers)
    except FileNotFoundError:
        opened = None
    if not isinstance(opened, CsvReplay | SimulatorInput):  # a feed URL cannot feed a feed
        raise typer.BadParameter(
            f"{source!r} is neither 'simulator' nor a CSV file", param_hint="--source"
        )
    return opened.frames()


@app.command()
def feed(
    source: Annotated[
        str,
        typer.Option(callback=readable_source, help="A Kaggle-layout CSV file, or 'simulator'."),
    ] = "simulator",
    host: Annotated[
        str | None,
        typer.Option(show_default="FRAUDWATCH_FEED_HOST", help="Interface to listen on."),
    ] = None,
    port: Annotated[
        int | None, typer.Option(show_default="FRAUDWATCH_FEED_PORT", help="Port of the feed.")
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(
            min=0.001, show_default="FRAUDWATCH_FEED_RATE", help="Transactions per second."
        ),
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            show_default="off: the wall clock at --rate, as Jedha",
            help="Run on the source's own clock (trans_date_trans_time), SPEED times real "
            "time, stamping current_time with each row's own time.",
        ),
    ] = None,
    customers: Annotated[int, typer.Option(min=1, help="Card holders (simulator source).")] = 1000,
    seed: Annotated[
        int | None, typer.Option(show_default="FRAUDWATCH_SEED", help="Seed (simulator source).")
    ] = None,
) -> None:
    """Serve a live transaction feed compatible with the Jedha /current-transactions API.

    Endpoints: GET /current-transactions[?n=K] (a JSON string of a split-orient DataFrame, as
    Jedha answers), GET /v1/transactions?after=CURSOR&limit=K (plain JSON with a cursor: no
    gaps, no repeats), GET /health (also the clock: wall or event, speed, stream time).
    """
    from fraudwatch.sources.feed_server import serve_feed

    settings = get_settings()
    frames = _feed_source(source, customers, settings.seed if seed is None else seed, date.today())
    try:
        serve_feed(
            frames,
            host=host or settings.feed_host,
            port=settings.feed_port if port is None else port,
            rate=None if speed is not None else (rate or settings.feed_rate),
            retention=settings.feed_retention,
            speed=speed,
        )
    except KeyboardInterrupt:
        console.print("feed stopped")


def _amount(value: object) -> str:
    """An amount with cents, or the raw value when it is not a number."""
    try:
        return f"{float(str(value)):.2f}"
    except ValueError:
        return str(value)


def _print_transactions(out: Console, batch: pd.DataFrame, key: bytes) -> tuple[int, int]:
    """One line per received transaction: masked card, its token, category, amount, label."""
    from fraudwatch.privacy import card_token, mask_pan

    frauds = 0
    for record in batch.to_dict("records"):
        pan = str(record.get("cc_num"))
        is_fraud = str(record.get("is_fraud")) == "1"
        frauds += is_fraud
        out.print(
            f"{mask_pan(pan):>19}  {card_token(pan, key)[:10]}  {record.get('category')!s:<14} "
            f"{_amount(record.get('amt')):>9}  {str(record.get('merchant'))[:34]:<34}"
            + ("  [bold red]FRAUD[/]" if is_fraud else "")
        )
    return len(batch), frauds


def _poll_until_stopped(url: str, stop: threading.Event, limit: int | None, out: Console) -> None:
    """Poll a feed and print what arrives until ``stop`` is set or ``limit`` rows came."""
    from fraudwatch.sources.feed_client import FeedClient

    key = pan_key()
    received = frauds = 0
    with FeedClient(url) as client:
        mode = "cursor API" if client.supports_cursor() else "Jedha /current-transactions"
        out.print(f"polling {url} ({mode}); Ctrl-C stops\n")
        out.print(f"{'card (masked)':>19}  {'token':<10}  {'category':<14} {'amount':>9}  merchant")
        for batch in client.poll(interval=0.5, stop=stop, max_rows=limit):
            rows, fraud_rows = _print_transactions(out, batch, key)
            received, frauds = received + rows, frauds + fraud_rows
    out.print(f"\nreceived {received:,} transactions, {frauds:,} labelled fraud")


@app.command()
def poll(
    url: Annotated[
        str | None,
        typer.Option(
            show_default="FRAUDWATCH_FEED_URL",
            help="Feed URL: ours, or a Jedha .../current-transactions URL unchanged.",
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            min=1, show_default="no limit: until Ctrl-C", help="Stop after this many rows."
        ),
    ] = None,
) -> None:
    """Poll a live feed and print each new transaction (card masked) as it arrives."""
    out = Console(soft_wrap=True)
    _poll_until_stopped(url or get_settings().feed_url, stop_on_signals(), limit, out)


@app.command()
def demo(
    duration: Annotated[
        float | None,
        typer.Option(show_default="until Ctrl-C", help="Stop after this many seconds."),
    ] = None,
    speed: Annotated[
        float,
        typer.Option(
            min=1.0,
            help="How much faster than real time the simulated clock runs: 600 plays a "
            "simulated day in 2.4 minutes (about 10 tx/s). Per-card timing stays the "
            "training data's at any speed.",
        ),
    ] = 600.0,
    feed_port: Annotated[
        int | None, typer.Option(show_default="FRAUDWATCH_FEED_PORT", help="Port of the feed.")
    ] = None,
    api_port: Annotated[
        int | None,
        typer.Option(show_default="FRAUDWATCH_API_PORT", help="Port of the scoring API."),
    ] = None,
    dashboard_port: Annotated[
        int, typer.Option(help="Port of the dashboard (0: do not start it).")
    ] = 8501,
) -> None:
    """The live system on the embedded defaults: feed → pipeline → SQLite, the scoring API and
    the dashboard.

    On first start it simulates a history and trains a model (about a minute). The live
    stream runs on a simulated clock SPEED times real time, each transaction stamped with
    its simulated time. Prints the addresses and the API key (kept in DATA_DIR/demo.json
    across restarts); Ctrl-C stops everything cleanly, and the next start continues the
    stream where it stopped. Exits 1 if the pipeline stops on an error.
    """
    from fraudwatch.api.server import configured_api_keys
    from fraudwatch.demo import live_system
    from fraudwatch.pipeline.build import build_store

    if dashboard_port:  # started as a subprocess: say so here, not only in its log
        require_extra("dashboard")

    settings = get_settings()
    stop = stop_on_signals()
    out = Console(soft_wrap=True)
    configured = build_store(settings)  # the one recipe (FRAUDWATCH_DIRECT_DATABASE_URL too)
    configured.close()  # the demo opens its own, on the same URLs
    out.print(
        f"[bold]fraudwatch demo[/] — data in {settings.data_dir}, database {configured.masked_url}"
    )
    with live_system(
        settings.data_dir, pan_key(), seed=settings.seed,
        feed_port=settings.feed_port if feed_port is None else feed_port,
        api_host=settings.api_host, api_port=settings.api_port if api_port is None else api_port,
        speed=speed, database_url=configured.url, migration_url=configured.migration_url,
        api_keys=configured_api_keys(settings),
        log_every=progress_every(),
        progress=lambda message: out.print(f"  {message}"), dashboard_port=dashboard_port or None,
    ) as system:  # fmt: skip
        out.print(f"[bold green]Live feed  [/] {system.feed_url}/current-transactions")
        out.print(f"[bold green]Scoring API[/] {system.api_url}/docs   X-API-Key: {system.api_key}")
        out.print(f"[bold green]Metrics    [/] {system.api_url}/metrics")
        if system.dashboard_url:
            out.print(f"[bold green]Dashboard  [/] {system.dashboard_url}")
        out.print(f"  try: curl -s {system.api_url}/model -H 'X-API-Key: {system.api_key}'")
        day_minutes = 86_400 / system.speed / 60
        out.print(f"Clock: simulated, {system.speed:g}x real time (a simulated day every "
                  f"{day_minutes:.1f} min); event times are the simulated times.")  # fmt: skip
        out.print("Pipeline: feed → validate → tokenize → features → LightGBM → decide → store. "
                  "Ctrl-C stops.\n")  # fmt: skip
        deadline = None if duration is None else time.monotonic() + duration
        while not stop.wait(progress_every(sys.stdout)):
            summary = system.summary
            out.print(f"  scored {summary.scored:,}  flagged {summary.flagged:,}  "
                      f"rejected {summary.rejected:,}")  # fmt: skip
            if deadline is not None and time.monotonic() >= deadline:
                break
        out.print(f"stopping: {system.summary.line()}")
    if system.failure is not None:
        console.print(f"[red]the pipeline stopped on an error: {system.failure}[/]")
        raise typer.Exit(code=1)


@app.command()
def serve(
    model_dir: Annotated[
        Path | None,
        typer.Option(callback=model_folder, show_default="the champion", help="Model folder."),
    ] = None,
    host: Annotated[
        str | None, typer.Option(show_default="FRAUDWATCH_API_HOST", help="Interface to listen on.")
    ] = None,
    port: Annotated[
        int | None, typer.Option(show_default="FRAUDWATCH_API_PORT", help="Port of the API.")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            show_default="FRAUDWATCH_DATABASE_URL or SQLite in DATA_DIR", help="Database."
        ),
    ] = None,
) -> None:
    """Serve the scoring API (FastAPI): /v1/score, /v1/score/batch, /predict, /health, /ready,
    /model, /metrics. API keys come from FRAUDWATCH_API_KEYS (none: open, with a warning)."""
    from fraudwatch.api.server import run as run_api
    from fraudwatch.model.registry import ModelNotFoundError

    settings = get_settings()
    try:
        run_api(model_dir, settings.api_host if host is None else host,
                settings.api_port if port is None else port, database_url)  # fmt: skip
    except ModelNotFoundError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(code=1) from error


@app.command()
def run(
    source: Annotated[
        str,
        typer.Option(
            callback=readable_source,
            help="A Kaggle-layout CSV file, an http(s) feed URL, or 'simulator'.",
        ),
    ],
    model_dir: Annotated[
        Path | None,
        typer.Option(callback=model_folder, show_default="the champion", help="Model folder."),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            show_default="FRAUDWATCH_DATABASE_URL or SQLite in DATA_DIR", help="Database."
        ),
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(min=0.001, show_default="as fast as possible", help="Replay rate in tx/s."),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Most records per micro-batch.")] = 1000,
) -> None:
    """Run the streaming pipeline: source → validate → tokenize → features → score → store.

    A file source ends when the file is consumed (summary printed); a URL or the simulator
    runs until Ctrl-C / SIGTERM, which flush the current batch. The source position is
    stored with each batch, so a restart resumes where the last run stopped.
    """
    from fraudwatch.model.registry import ModelNotFoundError
    from fraudwatch.pipeline.build import build_service, build_store
    from fraudwatch.pipeline.inputs import open_input
    from fraudwatch.pipeline.runner import Runner

    settings = get_settings()
    try:
        service = build_service(settings, model_dir)
        pipeline_input = open_input(source, rate=rate, seed=settings.seed)
    except (ModelNotFoundError, FileNotFoundError) as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(code=1) from error
    store = build_store(settings, database_url)  # None: FRAUDWATCH_DIRECT_DATABASE_URL included
    store.upgrade()
    store.record_model_version(service.model_version, service.bundle.metadata)
    runner = Runner(
        service, store, pipeline_input, max_batch=batch_size,
        state_dir=settings.data_dir / "state", log_every=progress_every(),
    )  # fmt: skip
    try:
        summary = runner.run(stop_on_signals())
    except Exception as error:  # the status table has it too; one clear line, exit 1
        from rich.markup import escape

        from fraudwatch.privacy import redact_pans

        message = escape(f"{type(error).__name__}: {redact_pans(str(error))}")
        console.print(f"[red]the pipeline stopped: {message}[/]", highlight=False)
        console.print(runner.summary.line())
        raise typer.Exit(code=1) from error
    finally:
        store.close()
    if summary.resumed_from is not None:
        console.print(f"resumed from position {summary.resumed_from}")
    console.print(summary.line())


@app.command()
def dashboard(
    database_url: Annotated[
        str | None,
        typer.Option(
            show_default="FRAUDWATCH_DATABASE_URL or SQLite in DATA_DIR", help="Database."
        ),
    ] = None,
    port: Annotated[int, typer.Option(help="Port of the dashboard.")] = 8501,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Serve the monitoring dashboard (Streamlit): KPIs, trends, filters, transactions, the
    alert queue with analyst labels, the model, and a streamed CSV export. Ctrl-C stops."""
    from fraudwatch.dashboard.server import run_dashboard
    from fraudwatch.sinks.store import database_url as resolve_url
    from fraudwatch.sinks.store import mask_url

    require_extra("dashboard")  # Streamlit runs in a subprocess: fail here, with the fix
    settings = get_settings()
    url = resolve_url(database_url or settings.database_url, settings.data_dir)
    console.print(f"dashboard on http://{host}:{port} — database {mask_url(url)}; Ctrl-C stops")
    raise typer.Exit(code=run_dashboard(url, port, host))


db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(
    database_url: Annotated[
        str | None,
        typer.Option(
            show_default="FRAUDWATCH_DATABASE_URL or SQLite in DATA_DIR", help="Database."
        ),
    ] = None,
) -> None:
    """Create or migrate the database tables to the newest schema (Alembic)."""
    from fraudwatch.sinks.store import upgrade_database

    shown = upgrade_database(database_url or get_settings().database_url)
    console.print(f"database {shown} is up to date")
