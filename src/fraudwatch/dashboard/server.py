"""Serving the dashboard: the streamed export route and ``fraudwatch dashboard``.

The dashboard runs as its own process (``streamlit run`` on :mod:`.webapp.serve`), so the
CLI and the demo start and stop it like any service; the store's URL reaches it through
``FRAUDWATCH_DATABASE_URL`` in its environment. Next to the Streamlit app it serves
``GET /export.csv?<filters>``: the filtered rows as CSV, streamed chunk by chunk from a
server-side cursor (Streamlit's own download button would hold the whole file in memory).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from urllib.parse import parse_qs

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from fraudwatch.dashboard.export import csv_chunks, export_filename
from fraudwatch.dashboard.filters import Filters
from fraudwatch.dashboard.source import reader_for

WEBAPP = Path(__file__).resolve().parent / "webapp"
#: The Streamlit page script and the launcher that adds the export route to it.
APP_SCRIPT = WEBAPP / "app.py"
#: Metric values a size smaller than Streamlit's 2.25rem, so the cards' values fit whole at
#: 1280×800 (checked by ``tests/dashboard/test_browser.py``).
METRIC_VALUE_FONT_SIZE = "1.75rem"
LAUNCHER = WEBAPP / "serve.py"
DEFAULT_PORT = 8501
DEFAULT_HOST = "127.0.0.1"
_FORWARDED = (signal.SIGINT, signal.SIGTERM)


async def export_csv(request: Request) -> Response:
    """``GET /export.csv?<filters>``: every filtered row as a streamed CSV download."""
    try:
        filters = Filters.from_query(parse_qs(request.url.query, keep_blank_values=False))
    except ValueError as error:
        return PlainTextResponse(f"bad filters: {error}", status_code=400)
    chunks = csv_chunks(reader_for(), filters)
    try:  # open the query (retried) before answering, so a dead database is a 503, not a cut file
        header = await run_in_threadpool(next, chunks)
    except SQLAlchemyError as error:
        return PlainTextResponse(f"database unavailable: {type(error).__name__}", status_code=503)

    async def body() -> Iterator[bytes]:  # type: ignore[misc]
        yield header
        async for chunk in iterate_in_threadpool(chunks):
            yield chunk

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{export_filename(filters)}"',
            "Cache-Control": "no-store",
        },
    )


def export_routes() -> list[Route]:
    """The routes served beside the Streamlit app."""
    return [Route("/export.csv", export_csv, methods=["GET"])]


def dashboard_command(port: int = DEFAULT_PORT, host: str = DEFAULT_HOST) -> list[str]:
    """The ``streamlit run`` command line of the dashboard (headless, no usage statistics)."""
    return [
        sys.executable, "-m", "streamlit", "run", str(LAUNCHER),
        "--server.port", str(port), "--server.address", host, "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
        "--theme.base", "light", "--client.toolbarMode", "viewer",
        "--theme.metricValueFontSize", METRIC_VALUE_FONT_SIZE,
    ]  # fmt: skip


def dashboard_environment(database_url: str | None) -> dict[str, str]:
    """This process's environment, pointing the dashboard at ``database_url`` when given."""
    env = dict(os.environ)
    if database_url:
        env["FRAUDWATCH_DATABASE_URL"] = database_url
    return env


def start_dashboard(
    database_url: str | None,
    port: int = DEFAULT_PORT,
    host: str = DEFAULT_HOST,
    log: IO[str] | None = None,
) -> subprocess.Popen[str]:
    """Start the dashboard in a child process (output to ``log``, else inherited)."""
    return subprocess.Popen(
        dashboard_command(port, host),
        env=dashboard_environment(database_url),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT if log is not None else None,
        text=True,
    )


def run_dashboard(
    database_url: str | None = None, port: int = DEFAULT_PORT, host: str = DEFAULT_HOST
) -> int:
    """Serve the dashboard until it is stopped (Ctrl-C, SIGTERM); returns its exit code.

    Both signals are passed on to the Streamlit process, so stopping this one never leaves
    the server behind.
    """
    process = start_dashboard(database_url, port, host)

    def forward(signum: int, _frame: object) -> None:
        process.send_signal(signum)

    previous = {number: signal.signal(number, forward) for number in _FORWARDED}
    try:
        return process.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
