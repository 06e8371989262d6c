"""No full card number in any response or log line, whatever the request."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fraudwatch.api.schemas import FEED_EXAMPLE, KAGGLE_EXAMPLE
from fraudwatch.log import configure_logging
from fraudwatch.sinks import Store

PANS = ["4111111111111111", "5500005555555559", "371449635398431", "6011000990139424"]


def _requests() -> list[tuple[str, Any]]:
    first, second, third, fourth = PANS
    return [
        ("/v1/score", dict(KAGGLE_EXAMPLE, cc_num=first)),
        ("/v1/score", dict(FEED_EXAMPLE, cc_num=int(second))),
        ("/v1/score", dict(KAGGLE_EXAMPLE, cc_num=third, category="casino")),  # contract 422
        ("/v1/score", dict(KAGGLE_EXAMPLE, cc_num=fourth, amt="lots")),  # pydantic 422
        ("/v1/score", dict(KAGGLE_EXAMPLE, cc_num=first + "x")),  # not digits
        ("/predict", {"data": dict(KAGGLE_EXAMPLE, cc_num=second)}),
        ("/predict", {"data": dict(KAGGLE_EXAMPLE, cc_num=third, lat=500)}),
        ("/v1/score/batch", {"transactions": [dict(KAGGLE_EXAMPLE, cc_num=p) for p in PANS]}),
        ("/v1/score/batch", {"transactions": [dict(FEED_EXAMPLE, cc_num=first, gender="?")]}),
        ("/v1/score/batch", {"transactions": [{"cc_num": fourth}]}),
    ]


def test_no_card_number_in_responses_or_logs(
    make_client: Callable[..., TestClient],
    sqlite_store: Store,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    configure_logging("DEBUG")  # the real handler (with its PAN filter) writes to stderr
    try:
        with caplog.at_level(logging.DEBUG):
            client = make_client(store=sqlite_store)
            texts = []
            for path, body in _requests():
                response = client.post(path, json=body)
                assert response.status_code in (200, 422), response.text
                texts.append(response.text)
            texts += [client.get(path).text for path in ("/metrics", "/model", "/ready")]
            assert client.app.state.writer.flush(5)  # type: ignore[attr-defined]
    finally:
        configure_logging("INFO")
    statuses = [t for t in texts if '"message"' in t]
    assert len(statuses) >= 5  # the refusals were answered, with reasons
    captured = capfd.readouterr()
    lines = [record.getMessage() for record in caplog.records]
    lines += [record.exc_text or "" for record in caplog.records]
    for pan in PANS:
        for text in (*texts, captured.out, captured.err, *lines):
            assert pan not in text
    with sqlite_store.engine.connect() as conn:
        stored = " ".join(
            str(row) for table in ("decisions", "dead_letter", "alerts")
            for row in conn.exec_driver_sql(f"SELECT * FROM {table}")
        )  # fmt: skip
    assert stored and not any(pan in stored for pan in PANS)
