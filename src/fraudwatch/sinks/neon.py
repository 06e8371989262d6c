"""Neon (serverless Postgres): pooled vs direct connection strings, and its connect defaults.

Neon gives every branch two hosts: ``ep-name-123456.region.aws.neon.tech`` (direct) and
``ep-name-123456-pooler.region.aws.neon.tech`` (PgBouncer in transaction mode). The
pipeline, the API, the dashboard and the DAG may use the pooled one (many short
connections); schema migrations go over the direct one, where a session is a session
(Alembic's DDL, locks and version table need no pooler in between). Neon only accepts TLS:
a Neon URL without ``sslmode`` gets ``sslmode=require``. The engine's defaults for a
compute that suspends when idle (pre-ping, recycle, keepalives, connect timeout, retries)
are those of every Postgres URL, in :mod:`fraudwatch.sinks.database`.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

NEON_DOMAINS = (".neon.tech", ".neon.build")
POOLER_SUFFIX = "-pooler"


def is_neon(url: str | URL) -> bool:
    """Whether the URL points at a Neon host."""
    host = _host(url)
    return host is not None and host.lower().endswith(NEON_DOMAINS)


def is_pooled(url: str | URL) -> bool:
    """Whether the URL points at Neon's connection pooler (``ep-…-pooler.…``)."""
    host = _host(url)
    return is_neon(url) and host is not None and host.split(".", 1)[0].endswith(POOLER_SUFFIX)


def direct_url(url: str) -> str:
    """The direct-connection form of a Neon pooled URL; any other URL unchanged."""
    if not is_pooled(url):
        return url
    host = _host(url)
    assert host is not None  # is_pooled checked it
    endpoint, _, rest = host.partition(".")
    direct = f"{endpoint.removesuffix(POOLER_SUFFIX)}.{rest}"
    for before in ("@", "//"):  # edit the string: everything else stays as pasted
        if before + host in url:
            return url.replace(before + host, before + direct, 1)
    return make_url(url).set(host=direct).render_as_string(hide_password=False)


def migration_url(url: str, configured: str | None = None) -> str:
    """The URL schema migrations use: the configured direct URL, else :func:`direct_url`."""
    if configured is not None and configured.strip():
        return configured.strip()
    return direct_url(url)


def neon_connect_args(url: str | URL) -> dict[str, str]:
    """Connect arguments Neon needs beyond our Postgres defaults: TLS unless the URL says."""
    if not is_neon(url) or "sslmode" in make_url(url).query:
        return {}
    return {"sslmode": "require"}


def _host(url: str | URL) -> str | None:
    try:
        return make_url(url).host
    except ArgumentError:
        return None
