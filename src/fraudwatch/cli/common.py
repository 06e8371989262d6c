"""Shared pieces of the command-line front: the Typer app, consoles, progress, the PAN key,
and the one-line usage errors for input files."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, NoReturn, TextIO

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


#: Seconds between progress lines on a terminal (someone watches) and in a log file or pipe
#: (someone reads it later: a line every 5 s was about 45 lines a minute with the demo).
PROGRESS_EVERY_TERMINAL = 5.0
PROGRESS_EVERY_LOG = 10.0


def progress_every(stream: TextIO | None = None) -> float:
    """Seconds between progress lines written to ``stream`` (default: stderr, the log)."""
    target = sys.stderr if stream is None else stream
    try:
        terminal = target.isatty()
    except ValueError:  # a closed stream
        terminal = False
    return PROGRESS_EVERY_TERMINAL if terminal else PROGRESS_EVERY_LOG


def pan_key() -> bytes:
    """The PAN key from the settings (generated into the data folder on first use)."""
    from fraudwatch.privacy import pan_key_from_settings

    return pan_key_from_settings(get_settings())


def stop_on_signals() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM, so loops end cleanly instead of with a traceback."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def usage_error(message: str) -> NoReturn:
    """End the command with one line on stderr and exit code 2 (click's code for bad usage).

    For input a user can fix at once (a mistyped path): a traceback or a boxed panel would
    bury the one fact that matters.
    """
    typer.echo(f"fraudwatch: error: {message}", err=True)
    raise typer.Exit(code=2)


def _unreadable(path: Path) -> str | None:
    """Why ``path`` cannot be read as a file, or None when it can."""
    try:
        with path.open("rb"):
            return None
    except OSError as error:
        return error.strerror or type(error).__name__


def readable_file(param: typer.CallbackParam, value: Path | None) -> Path | None:
    """Option callback: an input file that is missing or unreadable is a usage error."""
    if value is not None and (reason := _unreadable(value)):
        name = (
            "/".join(param.opts) if param.param_type_name == "option" else str(param.name).upper()
        )
        usage_error(f"{name}: cannot read {str(value)!r}: {reason}")
    return value


def readable_source(value: str | None) -> str | None:
    """``--source`` callback: 'simulator', an http(s) URL, or a file that can be read."""
    if value is None or value == "simulator" or value.startswith(("http://", "https://")):
        return value
    if reason := _unreadable(Path(value)):
        usage_error(f"--source: cannot read {value!r}: {reason}")
    return value


def model_folder(value: Path | None) -> Path | None:
    """``--model-dir`` callback (for reading a model): the folder must exist."""
    if value is not None and not value.is_dir():
        reason = "not a folder" if value.exists() else "No such file or directory"
        usage_error(f"--model-dir: cannot read {str(value)!r}: {reason}")
    return value
