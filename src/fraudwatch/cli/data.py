"""Data commands: simulate transactions, validate a file against the contract."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fraudwatch.cli.common import DATE_FORMATS, app, console, progress_bar, readable_file
from fraudwatch.config import get_settings

log = logging.getLogger("fraudwatch.cli")


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="CSV file to write (Kaggle layout).")],
    customers: Annotated[int, typer.Option(min=1, help="Number of simulated card holders.")] = 1000,
    start: Annotated[
        datetime,
        typer.Option(formats=DATE_FORMATS, show_default="2019-01-01", help="First simulated day."),
    ] = datetime(2019, 1, 1),
    end: Annotated[
        datetime,
        typer.Option(
            formats=DATE_FORMATS, show_default="2021-01-01", help="Day after the last one."
        ),
    ] = datetime(2021, 1, 1),
    seed: Annotated[
        int | None, typer.Option(show_default="FRAUDWATCH_SEED", help="Random seed.")
    ] = None,
    fraud_rate: Annotated[
        float | None,
        typer.Option(show_default="FRAUDWATCH_FRAUD_RATE", help="Share of fraud rows."),
    ] = None,
    split_at: Annotated[
        datetime | None,
        typer.Option(
            formats=DATE_FORMATS,
            show_default="one file, OUT",
            help="Write OUT_train.csv (before this date) and OUT_test.csv (from it).",
        ),
    ] = None,
    scenarios: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated fraud scenarios to simulate, in their default proportions "
            "(e.g. night_burst for the Kaggle pattern alone).",
            show_default="all four",
        ),
    ] = None,
) -> None:
    """Simulate card transactions with labelled fraud scenarios into a Kaggle-layout CSV.

    Deterministic for a seed. Fraud scenarios (column fraud_scenario), by default 70/10/10/10
    of the fraud rows: night_burst, card_testing, account_takeover, compromised_merchant.
    """
    from fraudwatch.sources.simulator import (
        SCENARIOS,
        SimulatorConfig,
        shares_for,
        simulate,
        simulate_to_csv,
    )

    settings = get_settings()
    names = SCENARIOS if scenarios is None else [n.strip() for n in scenarios.split(",")]
    try:
        shares = shares_for([name for name in names if name])
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--scenarios") from error
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
            scenario_shares=shares,
        )
        frames = simulate(config, start.date(), end.date())  # checks the dates up front
        del frames
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    days = (end - start).days
    expected_rows = int(customers * days * 2.5)
    began = time.perf_counter()
    with progress_bar() as progress:
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
    data: Annotated[
        Path, typer.Argument(callback=readable_file, help="Kaggle-layout CSV file to check.")
    ],
    rejects: Annotated[
        Path | None,
        typer.Option(
            show_default="not written",
            help="Write rejected records (card masked) with reasons to this JSONL file.",
        ),
    ] = None,
) -> None:
    """Check a transaction file against the contract; report every rejected record's reasons."""
    from fraudwatch.schema import validate_batch
    from fraudwatch.sources.csv_file import count_rows, read_transactions

    reasons: Counter[str] = Counter()
    valid = rejected = 0
    handle = rejects.open("w", encoding="utf-8") if rejects else None
    try:
        with progress_bar() as progress:
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
