"""The ``fraudwatch`` command: a thin front with one sub-command per job.

Every command parses its options, reads settings, and calls one library function; no logic
lives here that a DAG, the API or the dashboard would need too.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from fraudwatch import __version__
from fraudwatch.config import get_settings
from fraudwatch.log import configure_logging

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pandas as pd

app = typer.Typer(
    name="fraudwatch",
    help="Real-time credit-card fraud detection: simulate, replay, validate, feed and score "
    "card transactions.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)
console = Console(stderr=True)
log = logging.getLogger("fraudwatch.cli")

DateOption = Annotated[datetime, typer.Option(formats=["%Y-%m-%d"])]


def _version(show: bool) -> None:
    if show:
        typer.echo(f"fraudwatch {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    configure_logging(get_settings().log_level)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="CSV file to write (Kaggle layout).")],
    customers: Annotated[int, typer.Option(min=1, help="Number of simulated card holders.")] = 1000,
    start: DateOption = datetime(2019, 1, 1),
    end: DateOption = datetime(2021, 1, 1),
    seed: Annotated[
        int | None, typer.Option(help="Random seed [default: FRAUDWATCH_SEED].")
    ] = None,
    fraud_rate: Annotated[
        float | None, typer.Option(help="Share of fraud rows [default: FRAUDWATCH_FRAUD_RATE].")
    ] = None,
    split_at: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Write OUT_train.csv (before this date) and OUT_test.csv (from it).",
        ),
    ] = None,
) -> None:
    """Simulate card transactions with labelled fraud scenarios into a Kaggle-layout CSV.

    Deterministic for a seed. Fraud scenarios (column fraud_scenario): night_burst,
    card_testing, account_takeover, compromised_merchant.
    """
    from fraudwatch.sources.simulator import SimulatorConfig, simulate, simulate_to_csv

    settings = get_settings()
    if end <= start:
        raise typer.BadParameter("--end must be after --start", param_hint="--end")
    if split_at is not None and not start < split_at < end:
        raise typer.BadParameter(
            "--split-at must lie between --start and --end", param_hint="--split-at"
        )
    try:
        config = SimulatorConfig(
            customers=customers,
            seed=settings.seed if seed is None else seed,
            fraud_rate=settings.fraud_rate if fraud_rate is None else fraud_rate,
        )
        frames = simulate(config, start.date(), end.date())  # checks the dates up front
        del frames
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    days = (end - start).days
    expected_rows = int(customers * days * 2.5)
    began = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task("simulating", total=expected_rows)
        written = simulate_to_csv(
            config,
            start.date(),
            end.date(),
            out,
            split_at=split_at.date() if split_at else None,
            on_rows=lambda rows: progress.advance(task, rows),
        )
        total = sum(written.values())
        progress.update(task, total=total, completed=total)
    seconds = time.perf_counter() - began
    for path, rows in written.items():
        console.print(f"wrote [bold]{rows:,}[/] rows to {path}")
    console.print(f"{total:,} rows in {seconds:.1f} s ({total / max(seconds, 1e-9):,.0f} rows/s)")


@app.command()
def validate(
    data: Annotated[Path, typer.Argument(help="Kaggle-layout CSV file to check.")],
    rejects: Annotated[
        Path | None,
        typer.Option(help="Write rejected records (card masked) with reasons to this JSONL file."),
    ] = None,
) -> None:
    """Check a transaction file against the contract; report every rejected record's reasons."""
    from fraudwatch.schema import validate_batch
    from fraudwatch.sources.csv_file import count_rows, read_transactions

    reasons: Counter[str] = Counter()
    valid = rejected = 0
    handle = rejects.open("w", encoding="utf-8") if rejects else None
    try:
        with _progress() as progress:
            task = progress.add_task("validating", total=count_rows(data))
            for chunk in read_transactions(data):
                result = validate_batch(chunk)
                valid += len(result.valid)
                rejected += len(result.rejected)
                for rejection in result.rejected:
                    reasons.update(str(error) for error in rejection.errors)
                    log.debug(
                        "rejected row %s: %s", chunk.index[rejection.position], rejection.reason
                    )
                    if handle:
                        row = int(chunk.index[rejection.position])
                        entry = {"row": row, "reason": rejection.reason, "record": rejection.record}
                        handle.write(json.dumps(entry) + "\n")
                progress.advance(task, len(chunk))
    finally:
        if handle:
            handle.close()
    console.print(f"{valid:,} valid, {rejected:,} rejected")
    if reasons:
        table = Table("reason", "records", title="Why records were rejected")
        for reason, count in reasons.most_common(20):
            table.add_row(reason, f"{count:,}")
        console.print(table)
    if rejected:
        raise typer.Exit(code=1)


def _pan_key() -> bytes:
    """The PAN key from the settings (generated into the data folder on first use)."""
    from fraudwatch.privacy import load_or_create_key

    settings = get_settings()
    secret = settings.pan_key.get_secret_value() if settings.pan_key else None
    return load_or_create_key(secret, settings.pan_key_file)


def _read_prepared_with_progress(path: Path, label: str) -> tuple[pd.DataFrame, int]:
    """A whole CSV file validated and tokenized, with a progress bar; (frame, rejected)."""
    import pandas as pd

    from fraudwatch.pipeline.prepare import read_prepared
    from fraudwatch.sources.csv_file import count_rows

    parts, rejected = [], 0
    key = _pan_key()
    with _progress() as progress:
        task = progress.add_task(label, total=count_rows(path))
        for batch in read_prepared(path, key):
            parts.append(batch.transactions)
            rejected += len(batch.rejected)
            progress.advance(task, len(batch.transactions) + len(batch.rejected))
    return pd.concat(parts, ignore_index=True), rejected


@app.command()
def train(
    data: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="Labelled Kaggle-layout CSV.")
    ],
    model_dir: Annotated[
        Path | None, typer.Option(help="Folder for the model [default: DATA_DIR/models/latest].")
    ] = None,
    threshold_policy: Annotated[
        str, typer.Option(help="cost (FP/FN costs), alert_budget, or precision (min precision).")
    ] = "cost",
    false_negative_cost: Annotated[
        float, typer.Option(help="Cost of a missed fraud (policy cost).")
    ] = 5.0,
    false_positive_cost: Annotated[
        float, typer.Option(help="Cost of a false alert (policy cost).")
    ] = 1.0,
    alert_budget: Annotated[
        float, typer.Option(help="Largest share of transactions alerted.")
    ] = 0.005,
    min_precision: Annotated[
        float, typer.Option(help="Precision floor (policy precision).")
    ] = 0.95,
    validation_fraction: Annotated[
        float, typer.Option(help="Last share of the period used to validate.")
    ] = 0.2,
    max_rounds: Annotated[int, typer.Option(min=10, help="Most boosting rounds.")] = 1000,
) -> None:
    """Train the LightGBM model (and its static-only baseline) on past-only card features.

    Validation is the last slice of the training period (never a random split); the
    threshold is chosen there by the policy; artifacts and metadata go to MODEL_DIR.
    """
    from fraudwatch.model.registry import save_bundle
    from fraudwatch.model.train import (
        TrainConfig,
        TrainingDataError,
        default_model_dir,
        train_model,
    )

    try:
        config = TrainConfig(
            threshold_policy=threshold_policy,  # type: ignore[arg-type]
            false_negative_cost=false_negative_cost,
            false_positive_cost=false_positive_cost,
            alert_budget=alert_budget,
            min_precision=min_precision,
            validation_fraction=validation_fraction,
            max_rounds=max_rounds,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    transactions, rejected = _read_prepared_with_progress(data, "reading")
    if rejected:
        console.print(
            f"[yellow]{rejected:,} invalid records set aside[/] (see `fraudwatch validate`)"
        )
    target = model_dir or default_model_dir(get_settings().data_dir)
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(),
        TextColumn("{task.completed:,.0f} rounds"), TimeElapsedColumn(), console=console,
    ) as progress:  # fmt: skip
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done)

        try:
            bundle = train_model(transactions, config, progress=report)
        except TrainingDataError as error:
            console.print(f"[red]cannot train:[/] {error}")
            raise typer.Exit(code=1) from error
    save_bundle(bundle, target)
    validation = bundle.metadata["validation_metrics"]
    console.print(f"model [bold]{bundle.version}[/] saved to {target}")
    for name in ("model", "baseline"):
        row = validation[name]
        console.print(
            f"  validation {name:8}  AP {row['average_precision']:.4f}  "
            f"ROC-AUC {row['roc_auc']:.4f}  precision {row['precision']:.3f}  "
            f"recall {row['recall']:.3f}  trees {row['best_iteration']}"
        )
    console.print(f"  threshold {bundle.model.threshold:.4f} ({config.threshold_policy} policy)")


@app.command()
def score(
    data: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="Transactions to score.")],
    out: Annotated[Path, typer.Option(help="CSV of scores to write.")],
    model_dir: Annotated[
        Path | None, typer.Option(help="Model folder [default: DATA_DIR/models/latest].")
    ] = None,
    history: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="Earlier transactions: warm card state only."
        ),
    ] = None,
) -> None:
    """Score a file in time order through the online path (labels in it are ignored).

    Output columns: trans_num, fraud_probability, decision, risk_level, top_reasons,
    baseline_probability, baseline_decision. Invalid records go to OUT.rejected.jsonl.
    """
    from fraudwatch.model.registry import ModelNotFoundError
    from fraudwatch.model.scorer import rejected_path, score_file
    from fraudwatch.model.train import default_model_dir
    from fraudwatch.sources.csv_file import count_rows

    folder = model_dir or default_model_dir(get_settings().data_dir)
    with _progress() as progress:
        tasks: dict[str, TaskID] = {}
        totals = {"warming": count_rows(history) if history else 0, "scoring": count_rows(data)}

        def report(stage: str, rows: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=totals[stage])
            progress.advance(tasks[stage], rows)

        try:
            summary = score_file(folder, data, out, _pan_key(), history=history, progress=report)
        except ModelNotFoundError as error:
            console.print(f"[red]{error}[/]")
            raise typer.Exit(code=1) from error
    rate = summary.scored / max(summary.seconds, 1e-9)
    console.print(
        f"scored {summary.scored:,} transactions ({summary.flagged:,} flagged) into {out}; "
        f"history {summary.history_rows:,} rows; {summary.seconds:.1f} s "
        f"({rate:,.0f} rows/s overall)"
    )
    if summary.rejected:
        console.print(
            f"[yellow]{summary.rejected:,} invalid records[/] set aside in {rejected_path(out)}"
        )


@app.command()
def evaluate(
    scores: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="Output of `fraudwatch score`.")
    ],
    labels: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="The scored file with is_fraud.")
    ],
    report: Annotated[
        Path | None, typer.Option(help="Folder for report.json and PNG plots.")
    ] = None,
) -> None:
    """Evaluate scores against labels: AP, ROC-AUC, P/R/F1, alert-rate recall, CP@100, episodes.

    Every report has the static-only baseline beside the model, and per-scenario recall
    when the labels file has a fraud_scenario column.
    """
    from fraudwatch.model.evaluate import EvaluationError, format_report
    from fraudwatch.model.evaluate import evaluate as run_evaluation

    try:
        result = run_evaluation(scores, labels, report)
    except EvaluationError as error:
        console.print(f"[red]cannot evaluate:[/] {error}")
        raise typer.Exit(code=1) from error
    Console(soft_wrap=True).print(format_report(result), highlight=False)
    if report:
        console.print(
            f"report written to {report}/report.json, pr_curve.png, score_distribution.png"
        )


def _feed_source(source: str, customers: int, seed: int, start: date) -> Iterator[pd.DataFrame]:
    """Frames for the feed: a Kaggle-layout file, or the endless simulator from ``start``."""
    if source == "simulator":
        from fraudwatch.sources.simulator import SimulatorConfig
        from fraudwatch.sources.simulator import simulate as run_simulator

        return run_simulator(SimulatorConfig(customers=customers, seed=seed), start, None)
    from fraudwatch.sources.csv_file import read_transactions

    path = Path(source)
    if not path.is_file():
        raise typer.BadParameter(
            f"{source!r} is neither 'simulator' nor a CSV file", param_hint="--source"
        )
    return read_transactions(path)


@app.command()
def feed(
    source: Annotated[
        str, typer.Option(help="A Kaggle-layout CSV file, or 'simulator'.")
    ] = "simulator",
    host: Annotated[
        str | None, typer.Option(help="Interface [default: FRAUDWATCH_FEED_HOST].")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: FRAUDWATCH_FEED_PORT].")] = None,
    rate: Annotated[
        float | None,
        typer.Option(min=0.001, help="Transactions per second [default: FRAUDWATCH_FEED_RATE]."),
    ] = None,
    customers: Annotated[int, typer.Option(min=1, help="Card holders (simulator source).")] = 1000,
    seed: Annotated[int | None, typer.Option(help="Seed (simulator source).")] = None,
) -> None:
    """Serve a live transaction feed compatible with the Jedha /current-transactions API.

    Endpoints: GET /current-transactions[?n=K] (a JSON string of a split-orient DataFrame, as
    Jedha answers), GET /v1/transactions?after=CURSOR&limit=K (plain JSON with a cursor: no
    gaps, no repeats), GET /health.
    """
    from fraudwatch.sources.feed_server import serve_feed

    settings = get_settings()
    frames = _feed_source(source, customers, settings.seed if seed is None else seed, date.today())
    try:
        serve_feed(
            frames,
            host=host or settings.feed_host,
            port=settings.feed_port if port is None else port,
            rate=rate or settings.feed_rate,
            retention=settings.feed_retention,
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

    key = _pan_key()
    received = frauds = 0
    with FeedClient(url) as client:
        mode = "cursor API" if client.supports_cursor() else "Jedha /current-transactions"
        out.print(f"polling {url} ({mode}); Ctrl-C stops\n")
        out.print(f"{'card (masked)':>19}  {'token':<10}  {'category':<14} {'amount':>9}  merchant")
        for batch in client.poll(interval=0.5, stop=stop):
            rows, fraud_rows = _print_transactions(out, batch, key)
            received, frauds = received + rows, frauds + fraud_rows
            if limit is not None and received >= limit:
                break
    out.print(f"\nreceived {received:,} transactions, {frauds:,} labelled fraud")


def _stop_on_signals() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM, so loops end cleanly instead of with a traceback."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


@app.command()
def poll(
    url: Annotated[
        str | None,
        typer.Option(
            help="Feed URL: ours, or a Jedha .../current-transactions URL unchanged "
            "[default: FRAUDWATCH_FEED_URL]."
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Stop after this many rows.")] = None,
) -> None:
    """Poll a live feed and print each new transaction (card masked) as it arrives."""
    out = Console(soft_wrap=True)
    _poll_until_stopped(url or get_settings().feed_url, _stop_on_signals(), limit, out)


@app.command()
def demo(
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds [default: until Ctrl-C].")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Feed port [default: FRAUDWATCH_FEED_PORT].")
    ] = None,
    rate: Annotated[float, typer.Option(min=0.1, help="Transactions per second.")] = 5.0,
) -> None:
    """Start the simulated live feed and show what a client polling it receives."""
    from fraudwatch.sources.feed_server import running_feed_server

    settings = get_settings()
    stop = _stop_on_signals()
    frames = _feed_source("simulator", 300, settings.seed, date.today() - timedelta(days=1))
    out = Console(soft_wrap=True)
    with running_feed_server(
        frames,
        host=settings.feed_host,
        port=settings.feed_port if port is None else port,
        rate=rate,
        retention=settings.feed_retention,
    ) as base_url:
        out.print(f"[bold green]Live feed[/]  {base_url}/current-transactions  (Jedha-compatible)")
        out.print(f"[bold green]Cursor API[/] {base_url}/v1/transactions?after=0&limit=100")
        if duration is not None:
            timer = threading.Timer(duration, stop.set)
            timer.daemon = True
            timer.start()
        _poll_until_stopped(base_url, stop, None, out)


def main() -> None:
    """Entry point of the ``fraudwatch`` console script."""
    app()
