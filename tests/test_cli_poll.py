"""``fraudwatch poll --limit N`` prints at most N rows, on our cursor URL and on Jedha URLs."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from fraudwatch.cli import app
from fraudwatch.sources.csv_file import read_transactions
from fraudwatch.sources.feed_server import running_feed_server

FIXTURE = Path(__file__).parent / "fixtures" / "kaggle_fraudTest_head.csv"
runner = CliRunner(env={"COLUMNS": "300", "NO_COLOR": "1", "TERM": "dumb"})
#: A printed transaction starts with its masked card (e.g. ``4* * * *1234`` or 6+4 digits).
ROW = re.compile(r"^\s*\d*\*+\d{4}\s", re.MULTILINE)


@pytest.fixture
def feed_url() -> Iterator[str]:
    """Our feed on the Kaggle fixture, with at least 300 transactions already published."""
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    with running_feed_server(read_transactions(FIXTURE, chunk_rows=500), rate=2000) as url:
        deadline = time.monotonic() + 10
        while httpx.get(f"{url}/health").json()["published"] < 300:
            assert time.monotonic() < deadline, "the feed published too little"
            time.sleep(0.05)
        yield url
    for signum, handler in handlers.items():  # poll installs its Ctrl-C handler
        signal.signal(signum, handler)


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("", 5),  # our cursor API: a page would hold up to 1,000 rows
        ("/current-transactions?n=50", 7),  # a Jedha-style URL whose answers hold 50 rows
        ("/current-transactions", 3),  # the plain Jedha form: one newest row per answer
    ],
)
def test_poll_prints_at_most_limit_rows(feed_url: str, path: str, limit: int) -> None:
    result = runner.invoke(app, ["poll", "--url", feed_url + path, "--limit", str(limit)])
    assert result.exit_code == 0, result.output
    assert len(ROW.findall(result.stdout)) == limit, result.stdout
    assert f"received {limit:,} transactions" in result.stdout
