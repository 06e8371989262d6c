"""A live transaction feed that answers like the Jedha API, plus a cursor API that loses nothing.

The Jedha ``GET /current-transactions`` endpoint hands out the newest transaction, so a
poller that is slower than the feed silently misses some and one that is faster sees the
same one twice. We serve that exact shape for compatibility, and beside it
``GET /v1/transactions?after=CURSOR`` where every transaction has a sequence number: a
reader that passes back the cursor it got sees each transaction exactly once, and is told
how many it missed if it fell further behind than the server's retention. The publishing
engine is :class:`fraudwatch.sources.feed_publisher.FeedPublisher`.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Annotated, Any

import pandas as pd
import uvicorn
from fastapi import FastAPI, HTTPException, Query, Response
from fastapi_offline import FastAPIOffline

from fraudwatch.schema import FEED_COLUMNS
from fraudwatch.sources.feed_publisher import CursorAheadError, FeedPublisher

log = logging.getLogger(__name__)

#: Most transactions one ``/current-transactions?n=`` answer may hold.
MAX_CURRENT = 1000
#: Most records one ``/v1/transactions`` page may hold.
MAX_PAGE = 10_000
#: Longest a ``/v1/transactions`` long-poll may wait, in seconds.
MAX_WAIT_SECONDS = 30.0
#: How long ``/current-transactions`` waits for the first publication before answering 503.
DEFAULT_FIRST_WAIT = 2.0

_COLUMNS_JSON = json.dumps(list(FEED_COLUMNS), separators=(",", ":"))


# -- HTTP --------------------------------------------------------------------------------


def create_app(publisher: FeedPublisher, *, first_wait: float = DEFAULT_FIRST_WAIT) -> FastAPI:
    """The feed's HTTP face: the Jedha endpoint, the lossless cursor endpoint, and health."""
    app = FastAPIOffline(  # /docs and /redoc from assets shipped in the package: no CDN
        title="fraudwatch feed",
        summary="Jedha-compatible live credit-card transaction feed with a cursor API.",
    )

    @app.get("/current-transactions")
    def current_transactions(
        n: Annotated[
            int | None,
            Query(ge=1, le=MAX_CURRENT, description="How many of the newest transactions."),
        ] = None,
    ) -> Response:
        """Newest transaction(s) as a JSON string holding a split-orient frame (Jedha form)."""
        if not publisher.wait_for_first(first_wait):
            status = publisher.status()
            if status.error is not None:
                message = f"the feed source failed: {status.error}"
            elif status.exhausted:
                message = "the feed source is empty: no transaction will be published"
            else:
                message = "no transaction published yet: the feed is starting, retry shortly"
            raise HTTPException(status_code=503, detail=message, headers={"Retry-After": "1"})
        newest = publisher.latest(n or 1)
        split = (
            f'{{"columns":{_COLUMNS_JSON},'
            f'"index":{json.dumps([t.cursor for t in newest])},'
            f'"data":[{",".join(t.values_json() for t in newest)}]}}'
        )
        return Response(content=json.dumps(split), media_type="application/json")

    @app.get("/v1/transactions")
    def transactions(
        after: Annotated[
            int, Query(ge=0, description="Cursor returned by the previous call; 0 at first.")
        ] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Most records.")] = 1000,
        wait: Annotated[
            float,
            Query(ge=0, le=MAX_WAIT_SECONDS, description="Seconds to wait for a new record."),
        ] = 0.0,
    ) -> Response:
        """Records after ``after`` in order; pass the returned cursor back to miss nothing."""
        try:
            page = publisher.read_after(after, limit, wait)
        except CursorAheadError as error:
            raise HTTPException(status_code=409, detail=str(error)) from error
        body = (
            f'{{"records":[{",".join(t.record_json for t in page.transactions)}],'
            f'"cursor":{page.cursor},"missed":{page.missed},'
            f'"exhausted":{"true" if page.exhausted else "false"}}}'
        )
        return Response(content=body, media_type="application/json")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Whether the feed publishes, how far it got, and whether it has ended."""
        return asdict(publisher.status())

    return app


class _FeedServer(uvicorn.Server):
    """A uvicorn server that stops the publisher first, so long-polls end before shutdown."""

    def __init__(self, config: uvicorn.Config, publisher: FeedPublisher) -> None:
        super().__init__(config)
        self._publisher = publisher

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._publisher.stop(timeout=0)
        await super().shutdown(sockets=sockets)


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket, so that the bound port is known before the server runs."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as error:
        raise OSError(
            error.errno, f"feed server cannot listen on {host}:{port}: {error.strerror}"
        ) from error


def _base_url(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def _make_server(
    publisher: FeedPublisher, first_wait: float, access_log: bool = True
) -> _FeedServer:
    config = uvicorn.Config(
        create_app(publisher, first_wait=first_wait),
        log_config=None,
        access_log=access_log,
        timeout_graceful_shutdown=5,
    )
    return _FeedServer(config, publisher)


def serve_feed(
    source: Iterator[pd.DataFrame],
    host: str,
    port: int,
    rate: float | None,
    retention: int,
    *,
    speed: float | None = None,
) -> None:
    """Serve ``source`` as a live feed until interrupted (blocking); logs go to the root logger.

    ``rate``: wall clock (Jedha), ``speed``: the source's own clock sped up; see
    :class:`FeedPublisher`.
    """
    publisher = FeedPublisher(source, rate=rate, speed=speed, retention=retention)
    sock = _listen(host, port)
    server = _make_server(publisher, DEFAULT_FIRST_WAIT)
    publisher.start()
    log.info("feed server listening on %s", _base_url(host, sock))
    try:
        server.run(sockets=[sock])
    finally:
        publisher.stop()
        sock.close()


@contextmanager
def running_feed_server(
    source: FeedPublisher | Iterable[pd.DataFrame],
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    rate: float | None = None,
    speed: float | None = None,
    retention: int = 100_000,
    first_wait: float = DEFAULT_FIRST_WAIT,
) -> Iterator[str]:
    """Run the feed in a background thread (port 0: any free port) and yield its base URL.

    ``source`` is either frames (published at ``rate`` per second on the wall clock, or on
    their own clock at ``speed`` times real time) or a ready :class:`FeedPublisher`; either
    way the publisher is stopped on exit.
    """
    if isinstance(source, FeedPublisher):
        if rate is not None or speed is not None:
            raise ValueError("the clock is set by the FeedPublisher passed as source")
        publisher = source
    elif rate is None and speed is None:
        raise ValueError("a frame source needs rate (wall clock) or speed (event clock)")
    else:
        publisher = FeedPublisher(source, rate=rate, speed=speed, retention=retention)
    sock = _listen(host, port)
    server = _make_server(publisher, first_wait, access_log=False)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="fraudwatch-feed-server", daemon=True
    )
    publisher.start()
    thread.start()
    try:
        deadline = time.monotonic() + 10.0
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the feed server did not start (see the logs)")
            time.sleep(0.01)
        yield _base_url(host, sock)
    finally:
        server.should_exit = True
        thread.join(15.0)
        publisher.stop()
        sock.close()
