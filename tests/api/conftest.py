"""Fixtures of the API tests: the session's small trained model, a fresh service per test,
a SQLite store, and a test client that sends a valid API key."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

with warnings.catch_warnings():  # Starlette: "its TestClient will move to httpx2"
    warnings.filterwarnings("ignore", message=".*httpx2")
    from fastapi.testclient import TestClient

from fraudwatch.api import create_app
from fraudwatch.pipeline.service import ScoringService
from fraudwatch.sinks import Store
from fraudwatch.sources.csv_file import read_transactions
from tests.model.conftest import (  # noqa: F401  (session fixtures: one model per session)
    KEY,
    bundle,
    model_dir,
    split_files,
    train_frame,
)

API_KEY = "test-api-key-0123456789"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Starlette warns that its TestClient will move to httpx2; not our concern here."""
    for item in items:
        if "tests/api/" in str(item.path):
            item.add_marker(pytest.mark.filterwarnings("ignore:.*httpx2"))


def json_records(path: Path, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` rows of a Kaggle-layout file as JSON-ready dicts, in time order."""
    frame = next(read_transactions(path, limit=limit))
    frame = frame.sort_values("trans_date_trans_time", kind="stable")
    return [
        {key: (value.item() if hasattr(value, "item") else value) for key, value in row.items()}
        for row in frame.to_dict("records")
    ]


@pytest.fixture(scope="session")
def test_records(split_files: tuple[Path, Path]) -> list[dict[str, Any]]:  # noqa: F811
    """Transactions of the simulated test period (labels and scenario included, as sent)."""
    return json_records(split_files[1], 400)


@pytest.fixture
def service(model_dir: Path) -> ScoringService:  # noqa: F811
    """A fresh scoring service (empty card state) on the session's model."""
    return ScoringService.from_model_dir(model_dir, KEY)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store in the test's folder."""
    store = Store(f"sqlite:///{tmp_path / 'api.db'}")
    store.upgrade()
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def make_client(service: ScoringService) -> Iterator[Callable[..., TestClient]]:
    """Builds started test clients over ``service`` (``create_app`` keyword arguments)."""
    clients: list[TestClient] = []

    def make(
        *,
        headers: dict[str, str] | None = None,
        scoring: ScoringService | None = None,
        **options: Any,
    ) -> TestClient:
        options.setdefault("api_keys", [API_KEY])
        app: FastAPI = create_app(scoring or service, **options)
        client = TestClient(app, headers={"X-API-Key": API_KEY} if headers is None else headers)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient], sqlite_store: Store) -> TestClient:
    """A client of an API with a SQLite store and a key required (sent by default)."""
    return make_client(store=sqlite_store, batch_limit=50)
