"""CSV export of every row the filters select, streamed in chunks.

:func:`csv_chunks` reads the rows through a server-side cursor (``stream_results``; SQLite
steps its cursor) ``chunk_rows`` at a time and yields each chunk as CSV bytes, so an export
of millions of rows holds one chunk in memory, never the whole result. The dashboard serves
it from ``/export.csv?<filters>`` as a streamed HTTP response
(:mod:`fraudwatch.dashboard.server`). The card appears only masked; numbers are rounded to
what they mean (cents, six decimals of probability), which also keeps long digit runs
(that a PAN scanner would flag) out of the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, CursorResult

from fraudwatch.dashboard.browse import label_text, parse_reasons
from fraudwatch.dashboard.filters import Filters
from fraudwatch.dashboard.selection import decisions, filtered_from, report_column
from fraudwatch.dashboard.source import Reader
from fraudwatch.sinks.database import with_retry

#: The export's header, in order.
EXPORT_COLUMNS = (
    "trans_num", "event_time", "masked_pan", "merchant", "category", "state", "amount",
    "fraud_probability", "risk_level", "decision", "threshold", "model_version", "label",
    "label_source", "labelled_by", "reasons", "latency_ms", "source",
)  # fmt: skip
DEFAULT_CHUNK_ROWS = 20_000


def export_statement(filters: Filters) -> sa.Select[Any]:
    """The export query: every filtered row, oldest first, in :data:`EXPORT_COLUMNS` order."""
    # Each row's effective label (a chargeback beats an analyst's verdict), its source and
    # who reported it; decisions stay the outer side, so the plan streams in event_time order.
    joined, label, where = filtered_from(filters, with_labels=True)
    d = decisions.c
    columns = [
        d.trans_num, d.event_time, d.masked_pan, d.merchant, d.category, d.state, d.amount,
        d.fraud_probability, d.risk_level, d.decision, d.threshold, d.model_version,
        label.c.is_fraud, label.c.source.label("label_source"), report_column(label, "analyst"),
        d.reasons, d.latency_ms, d.source,
    ]  # fmt: skip
    return sa.select(*columns).select_from(joined).where(*where).order_by(d.event_time, d.trans_num)


def _csv_row(row: Any) -> list[Any]:
    values = dict(zip(EXPORT_COLUMNS, row, strict=True))
    event_time = values["event_time"]
    return [
        values["trans_num"],
        event_time.isoformat(sep=" ") if hasattr(event_time, "isoformat") else event_time,
        values["masked_pan"],
        values["merchant"],
        values["category"],
        values["state"] or "",
        f"{values['amount']:.2f}",
        f"{values['fraud_probability']:.6f}",
        values["risk_level"],
        int(values["decision"]),
        f"{values['threshold']:.6f}",
        values["model_version"],
        label_text(values["label"]),
        values["label_source"] or "",
        values["labelled_by"] or "",
        " | ".join(parse_reasons(values["reasons"])),
        f"{values['latency_ms']:.3f}",
        values["source"],
    ]


def csv_chunks(
    reader: Reader, filters: Filters, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Iterator[bytes]:
    """The filtered rows as CSV (UTF-8, header first), ``chunk_rows`` rows per yielded chunk.

    Opening the query is retried on transient errors; a connection lost in the middle of a
    stream ends it with the error (a half-written file must not look complete).
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    statement = export_statement(filters)

    def open_stream() -> tuple[Connection, CursorResult[Any]]:
        conn = reader.engine.connect()
        try:
            options = conn.execution_options(stream_results=True, yield_per=chunk_rows)
            return conn, options.execute(statement)
        except BaseException:
            conn.close()
            raise

    conn, result = with_retry(
        open_stream, attempts=reader.retry_attempts, url=reader.url, what="open the export"
    )
    try:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        yield buffer.getvalue().encode("utf-8")
        for rows in result.partitions(chunk_rows):
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(_csv_row(row) for row in rows)
            yield buffer.getvalue().encode("utf-8")
    finally:
        result.close()
        conn.close()


def export_filename(filters: Filters) -> str:
    """A file name that says what was exported."""
    if filters.is_everything:
        return "fraudwatch-decisions.csv"
    start = filters.start.strftime("%Y%m%dT%H%M") if filters.start else "start"
    end = filters.end.strftime("%Y%m%dT%H%M") if filters.end else "now"
    return f"fraudwatch-decisions-{start}-{end}-filtered.csv"
