"""``fraudwatch labels``: CSV and JSON lines from a file or a URL; bad lines are rejected."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from fraudwatch.cli import app
from fraudwatch.sinks import Store, tables
from tests.sinks.factories import synthetic_decisions

runner = CliRunner(env={"COLUMNS": "300", "NO_COLOR": "1", "TERM": "dumb"})

CSV_TEXT = """trans_num,label,reported_at,source,reported_by,note
tx00000001,1,2020-06-24T09:00:00Z,chargeback,,dispute 4539148803436467
tx00000001,0,2020-06-22 15:30:00,analyst,ana,
tx00000002,maybe,2020-06-24T09:00:00Z,chargeback,,
tx00000003,1,yesterday,chargeback,,
tx-later,1,1592989200,chargeback,,
tx00000004,1,2020-06-24T09:00:00Z,bank,,
"""


@pytest.fixture
def stored(store_url: str) -> Iterator[Store]:
    """A migrated store holding the decisions tx00000000 .. tx00000009."""
    store = Store(store_url)
    store.upgrade()
    store.write_batch(synthetic_decisions(10))
    try:
        yield store
    finally:
        store.close()


def _labels(store: Store) -> list[tuple[object, ...]]:
    table = tables.labels
    query = sa.select(table.c.trans_num, table.c.source, table.c.is_fraud, table.c.note)
    with store.engine.connect() as conn:
        return sorted(tuple(row) for row in conn.execute(query.order_by(table.c.id)))


def test_csv_file_stores_good_lines_and_rejects_bad_ones_by_line(
    tmp_path: Path, stored: Store
) -> None:
    source = tmp_path / "labels.csv"
    source.write_text(CSV_TEXT, encoding="utf-8")
    rejects = tmp_path / "rejects.jsonl"
    args = ["labels", "--source", str(source), "--database-url", stored.url]
    result = runner.invoke(app, [*args, "--rejects", str(rejects)])
    assert result.exit_code == 1, result.output  # some lines were rejected
    assert "line 4: label: Value error, must be 1 (fraud) or 0 (legitimate)" in result.output
    assert "line 5: reported_at: " in result.output
    assert "line 7: source: " in result.output
    assert "3 reports: 3 stored (2 applied, 1 pending their transaction)" in result.output
    assert [json.loads(line)["line"] for line in rejects.read_text().splitlines()] == [4, 5, 7]
    assert _labels(stored) == [
        ("tx00000001", "analyst", 0, None),
        ("tx00000001", "chargeback", 1, "dispute 453914******6467"),  # both sources kept
    ]
    assert stored.count("pending_labels") == 1
    again = runner.invoke(app, [*args])
    assert "0 stored (0 applied, 0 pending their transaction), 3 duplicates" in again.output


def test_json_lines_from_a_url(tmp_path: Path, stored: Store) -> None:
    lines = [
        {"trans_num": "tx00000005", "label": True, "reported_at": "2020-06-24T09:00:00Z",
         "source": "chargeback"},
        "not json",
        {"trans_num": "tx00000006", "label": 0, "reported_at": "2020-06-24T09:00:00+02:00",
         "source": "Analyst", "reported_by": "bob"},
    ]  # fmt: skip
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    (tmp_path / "labels.jsonl").write_text(text + "\n", encoding="utf-8")
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        args = ["labels", "--database-url", stored.url, "--source"]
        result = runner.invoke(app, [*args, f"{url}/labels.jsonl"])
        missing = runner.invoke(app, [*args, f"{url}/nothing.jsonl"])
    finally:
        server.shutdown()
        server.server_close()
    assert "line 2: not JSON" in result.output
    assert "2 reports: 2 stored (2 applied" in result.output
    assert _labels(stored) == [
        ("tx00000005", "chargeback", 1, None),
        ("tx00000006", "analyst", 0, None),
    ]
    assert missing.exit_code == 1 and "404" in missing.output


def test_help_explains_the_format() -> None:
    result = runner.invoke(app, ["labels", "--help"])
    assert result.exit_code == 0
    for word in ("trans_num", "reported_at", "chargeback", "analyst", "JSON lines", "pending"):
        assert word in result.output
    assert "[default: auto]" in result.output
    assert "[default: (only listed on screen)]" in result.output
