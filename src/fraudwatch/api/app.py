"""The scoring API (FastAPI): score one transaction or a batch, the original ``/predict``,
health, readiness, model metadata and Prometheus metrics.

:func:`create_app` builds the app around a :class:`~fraudwatch.pipeline.service.ScoringService`
(the one scoring path) and an optional :class:`~fraudwatch.sinks.store.Store`; :func:`serve`
runs it with uvicorn. Decisions reach the store through a background writer, so the API's
durability is asynchronous (see :mod:`fraudwatch.pipeline.writer`); responses never carry a card
number, and every log line goes through the PAN-redacting filter.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any, Protocol

import numpy as np
from fastapi import Body, Depends, FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from fraudwatch import __version__
from fraudwatch.api import schemas
from fraudwatch.api.labels import add_label_route
from fraudwatch.api.metrics import RECEIVED_AT, ApiMetrics, MetricsMiddleware
from fraudwatch.api.scoring import (
    THRESHOLD_RULES,
    ApiScorer,
    Coalescer,
    ContractError,
    background_writer,
    named_thresholds,
)
from fraudwatch.api.security import ApiKeys
from fraudwatch.decision import decide
from fraudwatch.pipeline.label_feed import LabelFeed
from fraudwatch.pipeline.service import ScoringService
from fraudwatch.privacy import redact_pans
from fraudwatch.sinks.status import RUNNING, STOPPED, Heartbeat, read_statuses
from fraudwatch.sinks.store import Store

log = logging.getLogger(__name__)

DEFAULT_BATCH_LIMIT = 1000
DESCRIPTION = """Real-time credit-card fraud scoring.

Every transaction goes through the same path as the streaming pipeline (validate →
tokenize → per-card online features → calibrated model → decision), so the API and the
pipeline give the same score for the same sequence of transactions. Card numbers are
tokenized on arrival and never returned or logged.

**Authentication**: when the server has API keys (`FRAUDWATCH_API_KEYS`), every endpoint
except `/health` needs the `X-API-Key` header.

**Durability**: decisions are written to the database by a background writer within
~20 ms of the response (asynchronous on this path; the streaming pipeline commits
synchronously).
"""
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": schemas.ErrorResponse,
        "description": "Malformed JSON body; the message says where (line, column, character) "
        "and what was expected.",
    },
    401: {"model": schemas.ErrorResponse, "description": "Missing or invalid API key."},
    422: {
        "model": schemas.ErrorResponse,
        "description": "Invalid body, or a transaction that breaks the contract "
        "(`type: schema`); `loc` names the field (and the index in a batch).",
    },
}


class Pingable(Protocol):
    """A store the readiness probe can ping (and the writer can write to)."""

    def ping(self) -> bool:
        """Whether the database answers."""
        ...


def _where(loc: Sequence[str | int]) -> str:
    """``["body", "transactions", 3, "amt"]`` → ``transactions[3].amt``."""
    parts = [part for part in loc if part != "body"] or ["body"]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _error_response(code: int, items: list[dict[str, Any]], message: str | None = None) -> Any:
    """An :class:`~fraudwatch.api.schemas.ErrorResponse` (messages PAN-redacted)."""
    detail = [
        {"loc": list(item["loc"]), "msg": redact_pans(str(item["msg"])), "type": item["type"]}
        for item in items
    ]
    summary = message or "; ".join(f"{_where(item['loc'])}: {item['msg']}" for item in detail)
    return JSONResponse({"message": redact_pans(summary), "detail": detail}, status_code=code)


def _where_json_breaks(document: Any, position: int) -> str:
    """``line 3, column 12 (character 45)`` of ``position`` in the malformed body."""
    text = document.decode("utf-8", "replace") if isinstance(document, bytes) else document
    if not isinstance(text, str):
        return f"character {position}"
    line = text.count("\n", 0, position) + 1
    column = position - text.rfind("\n", 0, position)
    return f"line {line}, column {column} (character {position})"


def _malformed_json(error: RequestValidationError) -> Any | None:
    """A 400 saying where the body stops being JSON and what was expected there, or None.

    FastAPI answers 422 ``[1]: JSON decode error``; the decoder knows more (``Expecting ','
    delimiter`` at a position). The body itself is never echoed: it may hold a card number.
    """
    for item in error.errors():
        if item.get("type") == "json_invalid":
            loc = tuple(item.get("loc", ()))
            position = loc[-1] if loc and isinstance(loc[-1], int) else 0
            expected = (item.get("ctx") or {}).get("error", "invalid JSON")
            where = _where_json_breaks(error.body, position)
            message = f"malformed JSON body at {where}: {expected}"
            items = [{"loc": ["body", position], "msg": message, "type": "json_invalid"}]
            return _error_response(status.HTTP_400_BAD_REQUEST, items, message)
    return None


async def _invalid_request(_: Request, error: Exception) -> Any:
    assert isinstance(error, RequestValidationError)
    if (malformed := _malformed_json(error)) is not None:
        return malformed
    items = [  # never echo the input back: it may hold a card number
        {"loc": item.get("loc", ()), "msg": item.get("msg", "invalid"), "type": item.get("type")}
        for item in error.errors()
    ]
    return _error_response(status.HTTP_422_UNPROCESSABLE_CONTENT, items)


async def _contract_error(_: Request, error: Exception) -> Any:
    assert isinstance(error, ContractError)
    return _error_response(status.HTTP_422_UNPROCESSABLE_CONTENT, error.items())


async def _http_error(_: Request, error: Exception) -> Any:
    assert isinstance(error, StarletteHTTPException)
    response = _error_response(error.status_code, [], str(error.detail))
    response.headers.update(error.headers or {})
    return response


def _received_at(request: Request) -> float:
    """When the request arrived (stamped by the metrics middleware)."""
    state = request.scope.get("state") or {}
    return float(state.get(RECEIVED_AT) or time.time())


def create_app(
    service: ScoringService,
    *,
    store: Any | None = None,
    api_keys: Sequence[str] = (),
    batch_limit: int = DEFAULT_BATCH_LIMIT,
) -> FastAPI:
    """The scoring API around ``service``; decisions go to ``store`` (if any) in the background."""
    metrics = ApiMetrics()
    metrics.model_info.labels(service.model_version, f"{service.threshold:.6g}").set(1)
    keys = ApiKeys(api_keys)
    writer = background_writer(store, metrics) if store is not None else None
    scorer = ApiScorer(service, metrics, writer)
    coalescer = Coalescer(scorer)
    started = time.monotonic()

    heartbeat = None
    if isinstance(store, Store):  # the API's row in the status table, beside the pipeline's
        heartbeat = Heartbeat(store, f"api {socket.gethostname()}", "api")
        if service.labels is None:  # stored labels reach the features at recorded times
            service.labels = LabelFeed(store)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        log.info(
            "scoring API ready: model %s (threshold %.4f), store %s, API keys %s",
            service.model_version, service.threshold,
            getattr(store, "masked_url", "none") if store is not None else "none",
            "required" if keys.enabled else "NOT required",
        )  # fmt: skip
        service.warm_up()  # the first flagged request would otherwise build the explainer
        # the model, reference data and card state live as long as the process: keep them
        # out of the garbage collector's generations, so its pauses stay short
        gc.collect()
        gc.freeze()
        beating = None
        if heartbeat is not None:
            beating = asyncio.create_task(_beat_forever(heartbeat, service))
        yield
        if beating is not None and heartbeat is not None:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
            await asyncio.to_thread(heartbeat.beat, STOPPED, force=True)
        if writer is not None:
            writer.close(timeout=5.0)  # what is queued gets 5 s; a stuck store no more

    app = FastAPIOffline(  # /docs and /redoc from assets shipped in the package: no CDN
        title="fraudwatch scoring API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "scoring", "description": "Score transactions (the shared scoring path)."},
            {"name": "operations", "description": "Health, readiness, model and metrics."},
        ],
    )
    app.state.service = service  # the scoring service (model, card state) behind the app
    app.state.writer = writer
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(ContractError, _contract_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    secured = [Depends(keys.dependency())]
    plain_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        """The OpenAPI document, its examples dated at the stream clock once there is one."""
        clock = service.stream_time
        if clock is None:  # no stream yet: the examples' own time (this process's start)
            return plain_openapi()
        return schemas.dated_examples(plain_openapi(), clock)

    app.openapi = openapi  # type: ignore[method-assign]

    @app.post(
        "/v1/score", response_model=schemas.ScoreResult, dependencies=secured,
        responses=ERRORS, tags=["scoring"], summary="Score one transaction",
    )  # fmt: skip
    async def score_one(
        transaction: Annotated[
            schemas.Transaction,
            Body(
                openapi_examples={
                    "kaggle": {"summary": "Kaggle shape", "value": schemas.KAGGLE_EXAMPLE},
                    "feed": {"summary": "Live-feed shape", "value": schemas.FEED_EXAMPLE},
                }
            ),
        ],
        request: Request,
    ) -> Any:
        """Score one transaction (Kaggle or live-feed shape); `is_fraud`, if sent, is ignored."""
        return await coalescer.score(transaction.record(), _received_at(request), ("body",))

    @app.post(
        "/v1/score/batch", response_model=schemas.BatchResponse, dependencies=secured,
        responses={**ERRORS, 413: {"model": schemas.ErrorResponse,
                                   "description": f"More than the batch limit ({batch_limit})."}},
        tags=["scoring"], summary="Score a batch of transactions",
    )  # fmt: skip
    async def score_batch(body: schemas.BatchRequest, request: Request) -> Any:
        """Score up to the batch limit of transactions, all or nothing.

        If any transaction breaks the contract the batch is refused (422, each problem
        located by index and field) and nothing is scored.
        """
        if len(body.transactions) > batch_limit:
            raise StarletteHTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                f"at most {batch_limit} transactions per batch, got {len(body.transactions)}",
            )
        records = [transaction.record() for transaction in body.transactions]
        results = scorer.score(
            records, _received_at(request), prefix=("body", "transactions"), batched=True
        )
        return {"results": results}

    @app.post(
        "/predict", response_model=schemas.PredictResponse, dependencies=secured,
        responses=ERRORS, tags=["scoring"], summary="Score one transaction (original API)",
    )  # fmt: skip
    async def predict(body: schemas.PredictRequest, request: Request) -> Any:
        """The original project's endpoint: a prediction at a named threshold.

        `prediction` and `risk_level` are relative to the named threshold; the decision
        stored for the transaction is always at the model's own threshold.
        """
        record = body.data.record()
        result = await coalescer.score(record, _received_at(request), ("body", "data"))
        threshold = named_thresholds(service.threshold)[body.threshold]
        probability = float(result["fraud_probability"])
        flag, level = decide(np.array([probability]), threshold)  # the one decision rule
        return {
            "prediction": int(flag[0]),
            "probability": probability,
            "threshold_used": threshold,
            "risk_level": str(level[0]),
            "details": {
                "trans_num": result["trans_num"],
                "model_version": result["model_version"],
                "top_reasons": result["top_reasons"],
                "latency_ms": result["latency_ms"],
                "threshold_name": body.threshold,
                "model_threshold": service.threshold,
                "stored_decision": result["decision"],
            },
        }

    add_label_route(app, store, secured, ERRORS)

    @app.get(
        "/thresholds", response_model=schemas.ThresholdsResponse, dependencies=secured,
        responses=ERRORS, tags=["scoring"], summary="The named thresholds of /predict",
    )  # fmt: skip
    async def thresholds() -> Any:
        """The four named thresholds, derived from the model's threshold t."""
        values = named_thresholds(service.threshold)
        return {
            "model_threshold": service.threshold,
            "thresholds": [
                {"name": name, "value": value, "rule": THRESHOLD_RULES[name]}
                for name, value in values.items()
            ],
        }

    @app.get(
        "/health", response_model=schemas.HealthResponse, tags=["operations"],
        summary="Liveness (no key needed)",
    )  # fmt: skip
    async def health() -> Any:
        """Always 200 while the process serves requests."""
        return {"model_version": service.model_version, "uptime_s": time.monotonic() - started}

    @app.get(
        "/ready", response_model=schemas.ReadyResponse, dependencies=secured,
        responses={**ERRORS, 503: {"model": schemas.ReadyResponse,
                                   "description": "The model or the database is not ready."}},
        tags=["operations"], summary="Readiness: model loaded and database answering",
    )  # fmt: skip
    def ready() -> Any:  # sync: FastAPI runs it in a thread, a slow ping never blocks scoring
        """200 when the model is loaded, the database (and Redis) answer and no component of
        the status table has stopped on an error or fallen silent; 503 says which not."""
        model = "loaded" if service.bundle is not None else "not loaded"
        database = "not configured"
        if store is not None:
            database = "ok" if store.ping() else "unreachable"
        card_state = "in process"
        if service.shared is not None:
            card_state = "redis: ok" if _answers(service.shared.ping) else "unreachable"
        stopped: list[dict[str, Any]] = []
        if isinstance(store, Store) and database == "ok":
            own = None if heartbeat is None else heartbeat.component
            stopped = [
                status.as_dict()
                for status in read_statuses(store)
                if status.is_problem() and status.component != own
            ]
        is_ready = model == "loaded" and "unreachable" not in (database, card_state) and not stopped
        body = {
            "ready": is_ready,
            "model": model,
            "database": database,
            "card_state": card_state,
            "stopped_components": stopped,
        }
        return JSONResponse(body, status_code=200 if is_ready else 503)

    @app.get(
        "/model", response_model=schemas.ModelInfo, dependencies=secured, responses=ERRORS,
        tags=["operations"], summary="Metadata of the model in use",
    )  # fmt: skip
    async def model_info() -> Any:
        """Version, features, threshold, training window and validation metrics."""
        meta = service.bundle.metadata
        return {
            "version": service.model_version,
            "created_at": meta.get("created_at"),
            "features": service.bundle.model.features,
            "baseline_features": service.bundle.baseline.features,
            "threshold": service.threshold,
            "threshold_policy": meta.get("threshold_policy"),
            "training_window": meta.get("training_window", {}),
            "validation_metrics": meta.get("validation_metrics", {}),
            "rows": meta.get("rows", {}),
            "label_delay_ms": meta.get("label_delay_ms"),
        }

    @app.get(
        "/metrics", dependencies=secured, responses=ERRORS, tags=["operations"],
        summary="Prometheus metrics", response_class=Response,
    )  # fmt: skip
    async def prometheus_metrics() -> Response:
        """Request latency per endpoint, decisions by outcome and risk, the model version."""
        content, media_type = metrics.exposition()
        return Response(content, media_type=media_type)

    return app


def _answers(ping: Callable[[], bool]) -> bool:
    """Whether a ping succeeds (any error is a no)."""
    try:
        return ping()
    except Exception:
        return False


async def _beat_forever(heartbeat: Heartbeat, service: ScoringService) -> None:
    """Keep the API's status row current (its stream clock: the service's)."""
    while True:
        await asyncio.to_thread(heartbeat.beat, RUNNING, stream_time=service.stream_time)
        await asyncio.sleep(heartbeat.every)
