"""API keys: the ``X-API-Key`` header, compared in constant time.

With keys configured every endpoint but ``/health`` (liveness probes carry no secrets)
needs one, ``/metrics`` included (Prometheus sends it with ``http_headers`` in its scrape
config); the OpenAPI documents (``/docs``, ``/openapi.json``) stay readable. With no keys
the API is open and says so with a WARNING at start-up.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence

from fastapi import HTTPException, Security, status
from fastapi.security import APIKeyHeader

log = logging.getLogger(__name__)

API_KEY_HEADER = "X-API-Key"
api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from the server's FRAUDWATCH_API_KEYS (comma-separated).",
)


class ApiKeys:
    """The accepted keys; checks a presented key against all of them in constant time."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._keys = [key.encode("utf-8") for key in keys if key]
        if not self._keys:
            log.warning(
                "no API keys configured: the scoring API is open to anyone who can reach it; "
                "set FRAUDWATCH_API_KEYS to require an X-API-Key header"
            )

    @property
    def enabled(self) -> bool:
        """Whether a key is required."""
        return bool(self._keys)

    def accepts(self, presented: str | None) -> bool:
        """Whether ``presented`` is one of the keys (every key is compared, match or not)."""
        if not self._keys:
            return True
        candidate = (presented or "").encode("utf-8")
        matched = False
        for key in self._keys:
            matched |= hmac.compare_digest(candidate, key)
        return matched

    def dependency(self) -> Callable[[str | None], Awaitable[None]]:
        """A FastAPI dependency that refuses a request without a valid key (401)."""

        async def require_api_key(presented: str | None = Security(api_key_header)) -> None:
            if not self.accepts(presented):
                raise HTTPException(
                    status_code=status.HTTP_401_UNAUTHORIZED,
                    detail=f"missing or invalid API key: send a valid key in the "
                    f"{API_KEY_HEADER} header",
                    headers={"WWW-Authenticate": API_KEY_HEADER},
                )

        return require_api_key
