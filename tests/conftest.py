"""Shared fixtures: paths, a PAN key, and the real services' addresses."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import require_service

FIXTURES = Path(__file__).parent / "fixtures"
KAGGLE_HEAD = FIXTURES / "kaggle_fraudTest_head.csv"
POSTGRES_HOST = os.environ.get("FRAUDWATCH_TEST_PG_HOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("FRAUDWATCH_TEST_PG_PORT", "5432"))
REDIS_HOST = os.environ.get("FRAUDWATCH_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("FRAUDWATCH_TEST_REDIS_PORT", "6379"))


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Each test gets its own data folder and never reads a developer's .env or key."""
    from fraudwatch.config import get_settings

    monkeypatch.setenv("FRAUDWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FRAUDWATCH_PAN_KEY", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def kaggle_head() -> Path:
    """The first 5,116 real rows of Kaggle's fraudTest.csv."""
    return KAGGLE_HEAD


@pytest.fixture
def pan_key() -> bytes:
    """A fixed test key for card tokens."""
    return b"test-key-0123456789abcdef"


@pytest.fixture
def postgres_address() -> tuple[str, int]:
    """Host and port of the real PostgreSQL server (skips or fails when it is down)."""
    require_service("PostgreSQL", POSTGRES_HOST, POSTGRES_PORT)
    return POSTGRES_HOST, POSTGRES_PORT


@pytest.fixture
def redis_address() -> tuple[str, int]:
    """Host and port of the real Redis server (skips or fails when it is down)."""
    require_service("Redis", REDIS_HOST, REDIS_PORT)
    return REDIS_HOST, REDIS_PORT
