"""The ingestion step of a run: fetch what is new, validate it, tokenize it, stage it.

Validation and tokenization happen in the task that fetched the records, so card numbers
never wait on disk between tasks (except for the scoring API, see
:mod:`~fraudwatch.orchestration.staging`). Records that break the contract become dead
letters with their reasons (card masked); a feed that answers something other than
transactions fails the run before anything is staged.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

from fraudwatch.orchestration import staging
from fraudwatch.orchestration.fetch import fetch_new, resume_position, source_id
from fraudwatch.orchestration.staging import RunBatch
from fraudwatch.pipeline.prepare import prepare_batch
from fraudwatch.pipeline.snapshots import snapshot_position, state_file
from fraudwatch.sinks.records import DeadLetter, dead_letters
from fraudwatch.sinks.store import Store
from fraudwatch.sources.feed_client import FeedClient

log = logging.getLogger(__name__)


def ingest(
    store: Store,
    feed_url: str,
    key: bytes,
    folder: Path,
    state_dir: Path,
    *,
    for_api: bool = False,
    shared_state: bool = False,
    max_records: int = 50_000,
    jedha_seconds: float = 50.0,
    jedha_interval: float = 1.0,
) -> RunBatch:
    """Fetch every transaction after the checkpoint, validate and tokenize it, stage it.

    ``for_api`` also stages the raw valid records, which the scoring API needs; it also
    means the API holds the card state, so no local feature snapshot is continued. Nor is
    one with ``shared_state`` (the card state is in Redis, as ``fraudwatch run`` keeps it):
    replaying records from an older snapshot would fold them into Redis twice.
    """
    source = source_id(feed_url)
    checkpoint = store.checkpoint(source)
    local = not (for_api or shared_state)
    snapshot = snapshot_position(state_file(state_dir, source)) if local else None
    with FeedClient(feed_url) as client:
        start, warm = resume_position(checkpoint, snapshot, replayable=client.supports_cursor())
        mode, fetched = fetch_new(
            client, store, feed_url, start, max_records=max_records,
            jedha_seconds=jedha_seconds, jedha_interval=jedha_interval,
        )  # fmt: skip
    if fetched.missed:
        log.warning(
            "the feed dropped %d transaction(s) from its retention before this run read them",
            fetched.missed,
        )
    valid = rejected = 0
    if len(fetched.records):
        prepared = prepare_batch(fetched.records, key)
        rows = prepared.transactions.index.to_numpy()  # positions in the fetched frame
        staging.write_transactions(folder, prepared.transactions, fetched.received_at[rows])
        if for_api:
            raw = fetched.records.iloc[rows].to_dict("records")
            staging.write_api_records(folder, [{str(k): v for k, v in r.items()} for r in raw])
        letters = dead_letters(prepared.rejected, source)
        staging.write_dead_letters(folder, letters)
        valid, rejected = len(prepared.transactions), len(letters)
        _log_rejections(letters)
    log.info(
        "fetched %d transaction(s) from %s (%s mode, %d request(s)) after position %d, up to "
        "%d: %d valid, %d rejected",
        len(fetched.records),
        feed_url,
        mode,
        fetched.pages,
        start,
        fetched.end,
        valid,
        rejected,
    )
    return RunBatch(
        folder=str(folder), source_id=source, mode=mode, start=str(start),
        end=str(fetched.end), fetched=len(fetched.records), valid=valid, rejected=rejected,
        missed=fetched.missed, warm=warm,
    )  # fmt: skip


def _log_rejections(letters: list[DeadLetter]) -> None:
    if letters:
        reasons = Counter(letter.reason for letter in letters).most_common(3)
        log.warning(
            "%d record(s) break the contract and go to the dead letters; most common: %s",
            len(letters),
            "; ".join(f"{count}× {reason}" for reason, count in reasons),
        )
