"""Fetching every transaction published since the last run: the cursor API, or Jedha polls.

Our feed server numbers its transactions, so a run reads every page after the stored
checkpoint (``FeedInput``'s position for the same URL) and nothing is lost or repeated. A
Jedha-style ``/current-transactions`` URL only ever shows the newest transaction: a run
then polls it for a while, drops repeats by ``trans_num`` and drops the transactions the
store already holds. Either way an answer that is not a page of transactions fails the run
(:class:`FeedUnusableError`) instead of filling the dead-letter table with garbage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sqlalchemy as sa

from fraudwatch.errors import FraudwatchError
from fraudwatch.sinks import tables
from fraudwatch.sinks.database import with_retry
from fraudwatch.sinks.store import Store
from fraudwatch.sources.feed_client import FeedClient, FeedError

log = logging.getLogger(__name__)

#: Columns without which a record cannot be a transaction. A page where *no* record has one
#: of them is a broken feed (wrong URL, an error page, another service), not bad records.
IDENTITY_COLUMNS = ("trans_num", "cc_num", "amt")
CURSOR_MODE = "cursor"
JEDHA_MODE = "jedha"
_LOOKUP_CHUNK = 500


class FeedUnusableError(FraudwatchError, RuntimeError):
    """The feed answered something that is not transactions; the run stores nothing."""


@dataclass
class Fetched:
    """Records fetched by one run, when each arrived, and the source position after them."""

    records: pd.DataFrame
    received_at: np.ndarray
    end: int
    missed: int = 0
    pages: int = 0
    seen: set[str] = field(default_factory=set)


def source_id(feed_url: str) -> str:
    """The checkpoint key of a feed: the one ``FeedInput`` uses, so both continue each other."""
    return f"feed:{feed_url}"


def check_shape(records: pd.DataFrame, url: str) -> None:
    """Refuse a non-empty page none of whose records has the columns every transaction has."""
    missing = [name for name in IDENTITY_COLUMNS if name not in records.columns]
    if len(records) and missing:
        shown = ", ".join(map(str, list(records.columns)[:8])) or "none"
        raise FeedUnusableError(
            f"the feed at {url} answered {len(records)} record(s) without the transaction "
            f"column(s) {', '.join(missing)} (its columns: {shown}). Nothing was stored. Is "
            "FRAUDWATCH_FEED_URL a fraudwatch or Jedha feed?"
        )


def fetch_after(
    client: FeedClient, cursor: int, *, url: str, page_size: int = 5000, max_records: int = 50_000
) -> Fetched:
    """Every record after ``cursor`` (at most ``max_records``; the rest waits for the next run)."""
    frames: list[pd.DataFrame] = []
    arrivals: list[np.ndarray] = []
    fetched = Fetched(pd.DataFrame(), np.zeros(0), cursor)
    rows = 0
    while rows < max_records:
        page = client.transactions_since(fetched.end, min(page_size, max_records - rows), wait=0)
        check_shape(page.records, url)
        fetched.pages += 1
        fetched.missed += page.missed
        if len(page.records):
            frames.append(page.records)
            arrivals.append(np.full(len(page.records), time.time()))
            rows += len(page.records)
        advanced = page.cursor != fetched.end
        fetched.end = page.cursor
        if not len(page.records) or page.exhausted or not advanced:
            break
    if frames:
        fetched.records = pd.concat(frames, ignore_index=True)
        fetched.received_at = np.concatenate(arrivals)
    return fetched


def poll_newest(
    client: FeedClient,
    position: int,
    *,
    url: str,
    seconds: float,
    interval: float = 1.0,
    already_stored: Callable[[Sequence[str]], set[str]],
) -> Fetched:
    """Poll a Jedha-style feed for ``seconds``: new transactions only, position + 1 if any."""
    frames: list[pd.DataFrame] = []
    arrivals: list[np.ndarray] = []
    fetched = Fetched(pd.DataFrame(), np.zeros(0), position)
    deadline = time.monotonic() + seconds
    while True:
        page = client.current_transactions()
        check_shape(page, url)
        fetched.pages += 1
        keys = page["trans_num"].astype(str).tolist() if len(page) else []
        fresh = [key not in fetched.seen for key in keys]
        fetched.seen.update(keys)
        if any(fresh):
            frames.append(page[fresh])
            arrivals.append(np.full(sum(fresh), time.time()))
        if time.monotonic() + interval > deadline:
            break
        time.sleep(interval)
    if frames:
        records = pd.concat(frames, ignore_index=True)
        stored = already_stored(records["trans_num"].astype(str).tolist())
        keep = ~records["trans_num"].astype(str).isin(stored).to_numpy()
        fetched.records = records[keep].reset_index(drop=True)
        fetched.received_at = np.concatenate(arrivals)[keep]
    if len(fetched.records):
        fetched.end = position + 1
    return fetched


def stored_trans_nums(store: Store, trans_nums: Sequence[str]) -> set[str]:
    """Which of these transactions already have a stored decision."""
    column = tables.decisions.c.trans_num
    found: set[str] = set()
    for start in range(0, len(trans_nums), _LOOKUP_CHUNK):
        chunk = list(trans_nums[start : start + _LOOKUP_CHUNK])
        query = sa.select(column).where(column.in_(chunk))

        def unit(query: sa.Select[tuple[str]] = query) -> list[str]:
            with store.engine.connect() as conn:
                return [str(value) for value in conn.execute(query).scalars()]

        found.update(with_retry(unit, attempts=store.retry_attempts, url=store.url, what="lookup"))
    return found


def resume_position(
    checkpoint: str | None, snapshot: str | None, *, replayable: bool
) -> tuple[int, bool]:
    """Where a run starts and whether it continues the feature snapshot.

    With a replayable source (the cursor API) a snapshot at or before the checkpoint is
    used and the records after it are read again (re-stored by ``trans_num``, so nothing
    doubles); a Jedha feed cannot replay, so only a snapshot at the checkpoint is used.
    """
    stored = _position(checkpoint, "checkpoint")
    saved = _position(snapshot, "feature snapshot")
    if saved is not None and stored is not None:
        if saved == stored or (replayable and saved < stored):
            return saved, True
        log.warning(
            "feature snapshot at %s does not match checkpoint %s: scoring with cold card state",
            saved,
            stored,
        )
    return stored or 0, False


def fetch_new(
    client: FeedClient,
    store: Store,
    url: str,
    start: int,
    *,
    max_records: int,
    jedha_seconds: float,
    jedha_interval: float = 1.0,
) -> tuple[str, Fetched]:
    """The fetch mode (``cursor`` or ``jedha``) and what it brought, or FeedUnusableError."""
    try:
        if client.supports_cursor():
            return CURSOR_MODE, fetch_after(client, start, url=url, max_records=max_records)
        lookup = lambda keys: stored_trans_nums(store, keys)  # noqa: E731
        return JEDHA_MODE, poll_newest(
            client, start, url=url, seconds=jedha_seconds, interval=jedha_interval,
            already_stored=lookup,
        )  # fmt: skip
    except FeedError as error:
        raise FeedUnusableError(
            f"the feed at {url} could not be read: {error}. Nothing was stored; the checkpoint "
            f"stays at {start}, so the next run starts from there."
        ) from error


def _position(value: str | None, what: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError as error:
        raise ValueError(f"the {what} position {value!r} is not a feed cursor") from error
