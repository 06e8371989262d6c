"""The app built from the settings, served by a real uvicorn on a free port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from fraudwatch.api.schemas import KAGGLE_EXAMPLE
from fraudwatch.api.server import build_app, configured_api_keys
from fraudwatch.config import Settings
from tests.api.conftest import API_KEY


@pytest.fixture
def served(model_dir: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The API over HTTP (SQLite store in the test folder); yields its URL and database."""
    database = tmp_path / "served.db"
    app, store = build_app(model_dir, f"sqlite:///{database}", api_keys=[API_KEY])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}", database
    finally:
        server.should_exit = True
        thread.join(10)
        store.close()


def test_served_over_http(served: tuple[str, Path]) -> None:
    url, database = served
    with httpx.Client(base_url=url, headers={"X-API-Key": API_KEY}) as client:
        assert client.get("/health").json()["status"] == "ok"
        assert client.get("/ready").status_code == 200
        scores = [client.post("/v1/score", json=KAGGLE_EXAMPLE) for _ in range(3)]
        assert all(response.status_code == 200 for response in scores)
        assert httpx.post(f"{url}/v1/score", json=KAGGLE_EXAMPLE).status_code == 401
    assert database.is_file()  # the schema was created at start-up


def test_api_keys_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert configured_api_keys(Settings()) == []
    monkeypatch.setenv("FRAUDWATCH_API_KEYS", " first , ,second")  # comma-separated
    assert configured_api_keys(Settings()) == ["first", "second"]
    assert "first" not in repr(Settings())


def test_the_app_migrates_over_the_configured_direct_database_url(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FRAUDWATCH_DIRECT_DATABASE_URL reaches the API's store, as it reaches the CLI's and DAG's.

    The two URLs name two SQLite files here, so the one that got the schema tells which URL
    the migration used (it used to be the pooled one: the API built its store by hand).
    """
    pooled, direct = tmp_path / "pooled.db", tmp_path / "direct.db"
    monkeypatch.setenv("FRAUDWATCH_DATABASE_URL", f"sqlite:///{pooled}")
    monkeypatch.setenv("FRAUDWATCH_DIRECT_DATABASE_URL", f"sqlite:///{direct}")
    _app, store = build_app(model_dir, api_keys=[], settings=Settings())
    try:
        assert store.url == f"sqlite:///{pooled}"
        assert store.migration_url == f"sqlite:///{direct}"
    finally:
        store.close()
    tables = {}
    for name, path in (("pooled", pooled), ("direct", direct)):
        engine = sa.create_engine(f"sqlite:///{path}")
        tables[name] = set(sa.inspect(engine).get_table_names())
        engine.dispose()
    assert "alembic_version" in tables["direct"]
    assert "alembic_version" not in tables["pooled"]


def test_the_app_keeps_card_state_in_redis_when_configured(
    model_dir: Path, tmp_path: Path, redis_address: tuple[str, int]
) -> None:
    """FRAUDWATCH_REDIS_URL reaches the service: a scored card's state is a Redis hash."""
    from fastapi.testclient import TestClient

    from fraudwatch.features.shared import CLOCK_KEY, DEFAULT_NAMESPACE

    host, port = redis_address
    settings = Settings(redis_url=f"redis://{host}:{port}/15", data_dir=tmp_path)
    app, store = build_app(model_dir, f"sqlite:///{tmp_path / 'r.db'}", settings=settings)
    shared = app.state.service.shared
    assert shared is not None
    shared.clear()
    try:
        with TestClient(app) as client:
            assert client.get("/ready").json()["card_state"] == "redis: ok"
            assert client.post("/v1/score", json=KAGGLE_EXAMPLE).status_code == 200
        keys = {key.decode() for key in shared.client.scan_iter(match=DEFAULT_NAMESPACE + "*")}
        clock = DEFAULT_NAMESPACE + CLOCK_KEY  # the stream clock, shared beside the cards
        assert clock in keys and len(keys - {clock}) == 1
    finally:
        shared.clear()
        store.close()
