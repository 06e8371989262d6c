"""Model commands: train, score a file, evaluate scores against labels."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from fraudwatch.cli.common import (
    app,
    console,
    model_folder,
    pan_key,
    progress_bar,
    readable_file,
)
from fraudwatch.config import get_settings

if TYPE_CHECKING:
    import pandas as pd


def _read_prepared_with_progress(path: Path, label: str) -> tuple[pd.DataFrame, int]:
    """A whole CSV file validated and tokenized, with a progress bar; (frame, rejected)."""
    import pandas as pd

    from fraudwatch.pipeline.prepare import read_prepared
    from fraudwatch.sources.csv_file import count_rows

    parts, rejected = [], 0
    key = pan_key()
    with progress_bar() as progress:
        task = progress.add_task(label, total=count_rows(path))
        for batch in read_prepared(path, key):
            parts.append(batch.transactions)
            rejected += len(batch.rejected)
            progress.advance(task, len(batch.transactions) + len(batch.rejected))
    return pd.concat(parts, ignore_index=True), rejected


@app.command()
def train(
    data: Annotated[Path, typer.Option(callback=readable_file, help="Labelled Kaggle-layout CSV.")],
    model_dir: Annotated[
        Path | None,
        typer.Option(show_default="DATA_DIR/models/VERSION", help="Folder for the model."),
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
    from fraudwatch.model.registry import champion_dir, models_root, promote, save_bundle
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
    data_dir = get_settings().data_dir
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
    target = save_bundle(bundle, model_dir or default_model_dir(data_dir, bundle.version))
    validation = bundle.metadata["validation_metrics"]
    console.print(f"model [bold]{bundle.version}[/] saved to {target}")
    if (
        not (models_root(data_dir) / "CHAMPION").is_file()
        and target.resolve().parent == models_root(data_dir).resolve()
    ):
        promote(target, data_dir)
        console.print(f"  it is the first model in {models_root(data_dir)}: now the champion")
    else:
        with contextlib.suppress(FileNotFoundError):
            console.print(f"  champion stays {champion_dir(data_dir).name}")
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
    data: Annotated[Path, typer.Option(callback=readable_file, help="Transactions to score.")],
    out: Annotated[Path, typer.Option(help="CSV of scores to write.")],
    model_dir: Annotated[
        Path | None,
        typer.Option(callback=model_folder, show_default="the champion", help="Model folder."),
    ] = None,
    history: Annotated[
        Path | None,
        typer.Option(
            callback=readable_file,
            show_default="none: cards start empty",
            help="Earlier transactions: warm card state only.",
        ),
    ] = None,
) -> None:
    """Score a file in time order through the online path (labels in it are ignored).

    Output columns: trans_num, fraud_probability, decision, risk_level, top_reasons,
    baseline_probability, baseline_decision. Invalid records go to OUT.rejected.jsonl.
    """
    from fraudwatch.model.registry import ModelNotFoundError, champion_dir
    from fraudwatch.pipeline.score_file import rejected_path, score_file
    from fraudwatch.sources.csv_file import count_rows

    try:
        folder = model_dir or champion_dir(get_settings().data_dir)
    except ModelNotFoundError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(code=1) from error
    with progress_bar() as progress:
        tasks: dict[str, TaskID] = {}
        totals = {"warming": count_rows(history) if history else 0, "scoring": count_rows(data)}

        def report(stage: str, rows: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=totals[stage])
            progress.advance(tasks[stage], rows)

        try:
            summary = score_file(folder, data, out, pan_key(), history=history, progress=report)
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
        Path, typer.Option(callback=readable_file, help="Output of `fraudwatch score`.")
    ],
    labels: Annotated[
        Path, typer.Option(callback=readable_file, help="The scored file with is_fraud.")
    ],
    report: Annotated[
        Path | None,
        typer.Option(
            show_default="none: printed only", help="Folder for report.json and PNG plots."
        ),
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
