"""Reaching the real services tests talk to, with one rule for when they are absent.

On a user's machine a test whose service is down is skipped with the reason; under
``FRAUDWATCH_REQUIRE_SERVICES=1`` (set by ``.ci/run``) it fails instead, so CI cannot go
green by skipping.
"""

from __future__ import annotations

import os
import socket

import pytest

REQUIRE_SERVICES_ENV = "FRAUDWATCH_REQUIRE_SERVICES"


def services_required() -> bool:
    """Whether a missing service is a failure rather than a skip."""
    return os.environ.get(REQUIRE_SERVICES_ENV, "").strip().lower() in {"1", "true", "yes"}


def tcp_reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or, when services are required, fail) unless ``name`` listens at host:port."""
    if tcp_reachable(host, port):
        return
    reason = f"service unavailable: {name} is not reachable at {host}:{port}"
    if services_required():
        pytest.fail(f"{reason} ({REQUIRE_SERVICES_ENV}=1 makes this a failure)", pytrace=False)
    pytest.skip(reason)
