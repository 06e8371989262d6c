"""SQLite's WAL checkpoints, run by a thread of their own instead of by a committing writer.

In WAL mode a commit only appends pages to the ``-wal`` file; now and then those pages
must be copied back into the database file (a *checkpoint*), with an fsync of both files.
By default SQLite makes whichever commit crosses ``wal_autocheckpoint`` pages do that
work: at 1,000 tx/s in small batches that was one commit in ~600 taking 30-40 ms every
two seconds, stalling every batch queued behind it (most of the pipeline's p99 latency).

:class:`WalCheckpointer` runs ``PRAGMA wal_checkpoint(PASSIVE)`` on its own connection
every ``every`` seconds: PASSIVE never blocks writers or readers (it copies what it can,
fsyncs, and leaves the rest), and the sqlite3 module releases the GIL while it works.
PASSIVE alone never lets the WAL start over while commits keep coming (the last frames
are always newer than the checkpoint), so once the WAL holds ``restart_pages`` pages a
``RESTART`` checkpoint follows: it holds writers back only while it copies the few
pages the PASSIVE one left (a few ms), and the next commit reuses the WAL from its
start. The WAL then stays below the writers' own ``wal_autocheckpoint`` threshold, which
remains the safety net (if this thread falls behind, a commit checkpoints as before).
Durability is unchanged: every checkpoint syncs as SQLite's own ones do.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

#: Seconds between checkpoints: well under the time to fill ``wal_autocheckpoint`` pages.
DEFAULT_EVERY_S = 0.5
#: WAL pages (4 KiB) after which the WAL is restarted: below ``SQLITE_CHECKPOINT_PAGES``.
DEFAULT_RESTART_PAGES = 2_000
#: How long a RESTART checkpoint waits for a writer's transaction to end.
_BUSY_TIMEOUT_MS = 1_000


class WalCheckpointer:
    """A daemon thread that checkpoints one SQLite file's WAL every ``every`` seconds.

    Defaults: :data:`DEFAULT_EVERY_S` and :data:`DEFAULT_RESTART_PAGES`.
    """

    def __init__(
        self,
        path: Path,
        *,
        every: float | None = None,
        restart_pages: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.every = DEFAULT_EVERY_S if every is None else every
        self.restart_pages = DEFAULT_RESTART_PAGES if restart_pages is None else restart_pages
        self.runs = 0  # checkpoints done
        self.restarts = 0  # of which RESTART ones (the WAL started over)
        #: the last checkpoint's (busy, pages in the WAL, pages of it now in the database)
        self.last: tuple[int, int, int] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="fraudwatch-wal-checkpoint", daemon=True
        )
        self._thread.start()

    @property
    def alive(self) -> bool:
        """Whether the thread still runs."""
        return self._thread.is_alive()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread after one last checkpoint."""
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            connection = sqlite3.connect(self.path, isolation_level=None)
            connection.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            while True:
                stopping = self._stop.wait(self.every)
                self._checkpoint(connection)
                if stopping:
                    return
        except sqlite3.Error as error:  # the writers' own auto-checkpoints take over
            log.warning("WAL checkpoints of %s stopped: %s", self.path.name, error)
        finally:
            if connection is not None:
                connection.close()

    def _checkpoint(self, connection: sqlite3.Connection) -> None:
        result = self._run_checkpoint(connection, "PASSIVE")
        if result is not None and result[1] >= self.restart_pages:
            restarted = self._run_checkpoint(connection, "RESTART")
            if restarted is not None and not restarted[0]:
                self.restarts += 1

    def _run_checkpoint(
        self, connection: sqlite3.Connection, mode: str
    ) -> tuple[int, int, int] | None:
        """One checkpoint: (busy, pages in the WAL, pages of it now in the database)."""
        try:
            row = connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        except sqlite3.OperationalError as error:  # busy: another checkpoint is running
            log.debug("WAL checkpoint of %s skipped: %s", self.path.name, error)
            return None
        self.runs += 1
        self.last = (int(row[0]), int(row[1]), int(row[2]))
        return self.last
