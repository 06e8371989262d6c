"""Prometheus metrics of the scoring API, in a registry of its own (one per app).

``fraudwatch_api_request_duration_seconds`` (histogram per endpoint, method and status),
``fraudwatch_api_decisions_total`` (by decision and risk level),
``fraudwatch_api_rejected_total`` (records failing the contract),
``fraudwatch_model_info`` (1, labelled with the model version and threshold) and the store
writer's ``fraudwatch_api_store_*`` figures. Latency is measured by a pure ASGI
middleware, which costs a few microseconds a request (Starlette's ``BaseHTTPMiddleware``
costs far more).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Buckets (seconds) around the 10 ms latency target.
LATENCY_BUCKETS = (
    0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip
RECEIVED_AT = "fraudwatch.received_at"


class ApiMetrics:
    """Every metric the API exposes, registered in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "fraudwatch_api_request_duration_seconds",
            "Time from a request's arrival to its response, by endpoint.",
            ("endpoint", "method", "status"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.decisions = Counter(
            "fraudwatch_api_decisions_total",
            "Transactions scored through the API, by decision and risk level.",
            ("decision", "risk_level"),
            registry=self.registry,
        )
        self.rejected = Counter(
            "fraudwatch_api_rejected_total",
            "Transactions refused because they break the transaction contract.",
            registry=self.registry,
        )
        self.model_info = Gauge(
            "fraudwatch_model_info",
            "The model in use (value 1), labelled with its version and threshold.",
            ("version", "threshold"),
            registry=self.registry,
        )
        self.store_written = Counter(
            "fraudwatch_api_store_written_total",
            "Decisions the background writer committed to the store.",
            registry=self.registry,
        )
        self.store_failed = Counter(
            "fraudwatch_api_store_failed_total",
            "Decisions lost: the store refused them after retries, or the queue was full.",
            registry=self.registry,
        )
        self.store_queue = Gauge(
            "fraudwatch_api_store_queue_rows",
            "Decisions waiting for the background writer.",
            registry=self.registry,
        )

    def count_decisions(self, decisions: Iterable[int], risk_levels: Iterable[str]) -> None:
        """Add scored transactions to the decisions counter."""
        for decision, risk_level in zip(decisions, risk_levels, strict=True):
            self.decisions.labels(str(decision), risk_level).inc()

    def exposition(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Times every HTTP request (stamping its arrival for the handlers) into the histogram."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, then observe its duration under its route's path."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        scope.setdefault("state", {})[RECEIVED_AT] = time.time()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(endpoint, scope["method"], str(status)).observe(
                time.perf_counter() - started
            )
