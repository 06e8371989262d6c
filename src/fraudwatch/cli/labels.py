"""The ``labels`` command: load fraud labels (chargebacks, analyst verdicts) into the store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated, cast

import typer

from fraudwatch.cli.common import app, console
from fraudwatch.config import get_settings

DEFAULT_BATCH = 5_000
DEFAULT_TIMEOUT_S = 30.0
SHOWN_REJECTS = 20


@contextmanager
def _lines(source: str, timeout_s: float) -> Iterator[Iterator[str]]:
    """The text lines of a file, or of an http(s) URL fetched with httpx (streamed)."""
    if source.startswith(("http://", "https://")):
        import httpx

        with httpx.stream("GET", source, timeout=timeout_s, follow_redirects=True) as response:
            response.raise_for_status()
            yield response.iter_lines()
        return
    with Path(source).open(encoding="utf-8", newline="") as handle:
        yield iter(handle)


@app.command("labels")
def labels_command(
    source: Annotated[
        str,
        typer.Option(
            "--source",
            help="A file path or an http(s) URL of label reports (CSV or JSON lines).",
        ),
    ],
    input_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="csv, jsonl, or auto: JSON lines when the first line opens an object, else CSV.",
        ),
    ] = "auto",
    rejects: Annotated[
        Path | None,
        typer.Option(
            show_default="only listed on screen",
            help="Also write rejected lines (line, reason, record; card numbers masked) to "
            "this JSON-lines file.",
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            show_default="FRAUDWATCH_DATABASE_URL, else SQLite in the data folder",
            help="Database.",
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Reports stored per database transaction.")
    ] = DEFAULT_BATCH,
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds to wait for a URL.")
    ] = DEFAULT_TIMEOUT_S,
) -> None:
    """Load fraud labels, as issuers and analysts report them, into the store.

    Each record has [bold]trans_num[/], [bold]label[/] (1 fraud, 0 legitimate; also
    true/false, fraud/legitimate), [bold]reported_at[/] (ISO 8601, no offset = UTC, or epoch
    seconds) and [bold]source[/] ([italic]chargeback[/] from the issuer, or
    [italic]analyst[/]); optional [bold]reported_by[/] and [bold]note[/]. CSV has a header
    row; JSON lines have one object a line.

    A report of a transaction not stored yet is kept pending and applied when the
    transaction arrives. The same report loaded twice is stored once. Every source is kept;
    a transaction's effective label is its chargeback if it has one, else its newest analyst
    verdict. A malformed line is rejected with its line number and reason and the rest is
    stored; the exit code is then 1.
    """
    import httpx

    from fraudwatch.pipeline.build import build_store
    from fraudwatch.sinks.labels import LabelOutcome
    from fraudwatch.sinks.records import masked
    from fraudwatch.sources.labels import InputFormat, LabelReport, RejectedLine, parse_lines

    if input_format not in ("auto", "csv", "jsonl"):
        raise typer.BadParameter("must be auto, csv or jsonl", param_hint="--format")
    settings = get_settings()
    store = build_store(settings, database_url)
    totals = {"received": 0, "applied": 0, "pending": 0, "duplicates": 0}
    rejected: list[RejectedLine] = []
    out: IO[str] | None = rejects.open("w", encoding="utf-8") if rejects else None

    def store_batch(batch: list[LabelReport]) -> None:
        outcome: LabelOutcome = store.add_labels(batch)
        for name in totals:
            totals[name] += getattr(outcome, name)
        batch.clear()

    try:
        store.upgrade()
        batch: list[LabelReport] = []
        with _lines(source, timeout) as lines:
            for item in parse_lines(lines, cast(InputFormat, input_format)):
                if isinstance(item, RejectedLine):
                    rejected.append(item)
                    if out is not None:
                        entry = {"line": item.line, "reason": item.reason, "record": item.record}
                        out.write(json.dumps(masked(entry)) + "\n")
                    continue
                batch.append(item)
                if len(batch) >= batch_size:
                    store_batch(batch)
        store_batch(batch)
    except (OSError, httpx.HTTPError) as error:
        console.print(f"[red]cannot read {source}: {error}[/]")
        raise typer.Exit(code=1) from error
    finally:
        if out is not None:
            out.close()
        store.close()
    for item in rejected[:SHOWN_REJECTS]:
        console.print(f"line {item.line}: {masked(item.reason)}", markup=False, highlight=False)
    if len(rejected) > SHOWN_REJECTS:
        console.print(f"... and {len(rejected) - SHOWN_REJECTS:,} more rejected lines")
    stored = totals["applied"] + totals["pending"]
    console.print(
        f"{totals['received']:,} reports: {stored:,} stored ({totals['applied']:,} applied, "
        f"{totals['pending']:,} pending their transaction), {totals['duplicates']:,} "
        f"duplicates, {len(rejected):,} rejected lines; database {store.masked_url}"
    )
    if rejected:
        raise typer.Exit(code=1)
