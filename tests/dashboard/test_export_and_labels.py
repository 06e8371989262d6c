"""CSV export (generator and HTTP route), analyst labels, filters in URLs, lost connections."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import psycopg
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from fraudwatch.dashboard.export import EXPORT_COLUMNS, csv_chunks
from fraudwatch.dashboard.filters import Filters
from fraudwatch.dashboard.labels import LabelError, Verdict, record_verdict
from fraudwatch.dashboard.queries import overview
from fraudwatch.dashboard.server import export_routes
from tests.conftest import libpq_url
from tests.dashboard.conftest import SeededStore
from tests.dashboard.test_queries import expected_rows

PAN_RUN = re.compile(r"(?<!\d)\d{12,19}(?!\d)")
FILTERED = Filters(
    categories=("grocery_pos", "shopping_net", "misc_net", "travel"),
    probability_min=0.1,
    amount_max=300.0,
)


def parse(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_export_holds_exactly_the_filtered_rows_in_chunks(seeded: SeededStore) -> None:
    chunks = list(csv_chunks(seeded.reader, FILTERED, chunk_rows=50))
    data = b"".join(chunks)
    rows = parse(data)
    expected = expected_rows(seeded.seeded, FILTERED)
    assert len(expected) > 200 and len(chunks) == 1 + -(-len(expected) // 50)
    assert [row["trans_num"] for row in rows] == expected.sort_values(["event_time", "trans_num"])[
        "trans_num"
    ].tolist()
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    text = data.decode("utf-8")
    assert not PAN_RUN.search(text), PAN_RUN.search(text)
    assert not any(pan in text for pan in seeded.seeded.pans)
    assert all("******" in row["masked_pan"] for row in rows)
    assert "card_token" not in rows[0]
    labelled = {row["trans_num"]: row["label"] for row in rows if row["label"]}
    assert set(labelled.values()) <= {"confirmed fraud", "false positive"}


def test_export_route_streams_the_filters_in_its_url(seeded: SeededStore) -> None:
    client = TestClient(Starlette(routes=export_routes()))
    answer = client.get(f"/export.csv?{FILTERED.to_query()}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    assert len(parse(answer.content)) == len(expected_rows(seeded.seeded, FILTERED))
    everything = client.get("/export.csv")
    assert len(parse(everything.content)) == 3000
    bad = client.get("/export.csv?decision=maybe")
    assert bad.status_code == 400 and "bad filters" in bad.text
    assert client.get("/export.csv?drop=table").status_code == 400


def test_filters_survive_the_url() -> None:
    filters = Filters(
        start=datetime(2026, 3, 1, 5, 0, 0, 123456),
        end=datetime(2026, 3, 2),
        categories=("travel", "misc_net"),
        states=("CA",),
        merchant="Kutch, Hermiston & Farrell",
        amount_min=0.0,
        amount_max=99.99,
        probability_min=0.1,
        probability_max=0.95,
        decision="flagged",
        risk_levels=("HIGH", "CRITICAL"),
        label="false_positive",
    )
    from urllib.parse import parse_qs

    assert Filters.from_query(parse_qs(filters.to_query())) == filters
    assert Filters().to_query() == ""
    assert Filters.from_query({}) == Filters()
    with pytest.raises(ValueError, match="unknown categories"):
        Filters(categories=("casino",))
    with pytest.raises(ValueError, match="ends before it starts"):
        Filters(start=datetime(2026, 1, 2), end=datetime(2026, 1, 1))


def test_a_verdict_is_written_with_who_and_when(seeded: SeededStore) -> None:
    flagged = seeded.seeded.decisions.query("decision == 1")["trans_num"].tolist()
    target = flagged[-1]
    before = overview(seeded.reader, Filters()).confirmed_fraud
    record_verdict(
        seeded.reader, target, Verdict.CONFIRMED_FRAUD, " alice ", "card 4111 1111 1111 1111"
    )
    rows = seeded.rows(
        "SELECT is_fraud, analyst, note, created_at FROM labels WHERE trans_num = :t", t=target
    )
    assert len(rows) == 1
    is_fraud, analyst, note, created_at = rows[0]
    assert (is_fraud, analyst) == (1, "alice") and created_at is not None
    assert "4111 1111 1111 1111" not in note and "411111" in note
    assert overview(seeded.reader, Filters()).confirmed_fraud == before + 1
    record_verdict(seeded.reader, target, Verdict.FALSE_POSITIVE, "bob")
    assert overview(seeded.reader, Filters()).confirmed_fraud == before  # the newest wins
    with pytest.raises(LabelError, match="enter your name"):
        record_verdict(seeded.reader, target, Verdict.FALSE_POSITIVE, "  ")
    with pytest.raises(LabelError, match="not in the database"):
        record_verdict(seeded.reader, "no-such-transaction", Verdict.FALSE_POSITIVE, "bob")


@pytest.mark.integration
def test_lost_connections_are_retried_transparently(seeded_postgres: SeededStore) -> None:
    seeded = seeded_postgres
    reader = seeded.reader
    expected = overview(reader, Filters()).scored  # the pool now holds a live connection
    with psycopg.connect(libpq_url(seeded.url.split("?")[0]), autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'fraudwatch' AND pid <> pg_backend_pid()"
        ).fetchone()
    assert killed is not None and killed[0] >= 1
    assert overview(reader, Filters()).scored == expected
    assert len(b"".join(csv_chunks(reader, Filters(decision="flagged")))) > 0
