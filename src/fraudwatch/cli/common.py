"""Shared pieces of the command-line front: the Typer app, consoles, progress, the PAN key."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from fraudwatch import __version__
from fraudwatch.config import get_settings
from fraudwatch.log import configure_logging

app = typer.Typer(
    name="fraudwatch",
    help="Real-time credit-card fraud detection: simulate, replay, validate, feed, train, "
    "score, evaluate and serve.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)
console = Console(stderr=True)

#: How dates are given on the command line.
DATE_FORMATS = ["%Y-%m-%d"]


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


def progress_bar() -> Progress:
    """A progress bar counting rows, on stderr."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def pan_key() -> bytes:
    """The PAN key from the settings (generated into the data folder on first use)."""
    from fraudwatch.privacy import load_or_create_key

    settings = get_settings()
    secret = settings.pan_key.get_secret_value() if settings.pan_key else None
    return load_or_create_key(secret, settings.pan_key_file)


def stop_on_signals() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM, so loops end cleanly instead of with a traceback."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop
